/**
 * What the listeners take into the durable intake before they ack (commands, clicks, form
 * submissions), and how a processor refuses a taken-in click or form this app did not make.
 * An item's id comes from Slack's own ids for the request, so a Slack retry is the same item.
 */
import type {
  AllMiddlewareArgs,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
  SlackViewMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';
import type { SignoffRole } from '../../policy/schema.js';
import { type IntakeItem, type IntakeSteps, type IntakeWriter, intakeId } from '../../queue/intake.js';
import { renderNotice } from '../blocks/replies.js';
import { tellUser } from '../notify-user.js';
import type { Replies, SlackServices } from '../services.js';

export type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;
export type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** Where a processor answers the user: ephemeral in the channel, or a DM without one. */
export interface Where {
  channel?: string | undefined;
  user: string;
}

/** One request as the intake keeps it: `data` holds the request's own fields only. */
export function intakeItem(
  kind: string,
  idParts: readonly string[],
  user: string,
  context: AllMiddlewareArgs['context'],
  data: object,
): IntakeItem {
  return {
    kind,
    id: intakeId(kind, idParts),
    user,
    receivedAt: Date.now(),
    retryNum: typeof context.retryNum === 'number' ? context.retryNum : 0,
    data: { ...data },
  };
}

/** What a button click carries into the intake. */
export interface ClickData {
  actionId: string;
  value: string;
  channel?: string;
  fromHome: boolean;
  triggerId: string;
}

function channelOf(body: BlockAction): string | undefined {
  return body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id;
}

/** A click taken in: its id is the click's own (team, user, action ts, action id). */
function clickItem(kind: string, { action, body, context }: Pick<ButtonArgs, 'action' | 'body' | 'context'>) {
  const channel = channelOf(body);
  const data: ClickData = {
    actionId: action.action_id,
    value: String(action.value ?? ''),
    fromHome: body.view?.type === 'home',
    triggerId: body.trigger_id,
    ...(channel ? { channel } : {}),
  };
  return intakeItem(
    kind,
    [body.team?.id ?? body.user.team_id ?? '', body.user.id, action.action_ts, action.action_id],
    body.user.id,
    context,
    data,
  );
}

/** Takes a click in durably, then acks it; returns what it carries (for a modal opened right away). */
export async function takeClick(intake: IntakeWriter, kind: string, args: ButtonArgs): Promise<ClickData> {
  const item = clickItem(kind, args);
  await intake.take(item);
  await args.ack();
  return clickData(item);
}

export function clickData(item: IntakeItem): ClickData {
  return item.data as unknown as ClickData;
}

const GARBLED_BUTTON = 'This button does not belong to a gate message of this app.';
const GARBLED_FORM = 'This form does not belong to a gate message of this app.';

/** A taken-in click on a button this app did not make: audited under `refusedKind`, the clicker told. */
export async function refuseGarbledClick(
  services: SlackServices,
  client: Replies['client'],
  item: IntakeItem,
  steps: IntakeSteps,
  refusedKind: string,
): Promise<void> {
  const data = clickData(item);
  await steps.once('audit', () =>
    services.store.audit(refusedKind, null, item.user, {
      reason: 'garbled_button',
      action_id: data.actionId,
      value: data.value.slice(0, 200),
    }),
  );
  await tellUser(client, { channel: data.channel, user: item.user }, renderNotice(GARBLED_BUTTON));
}

/**
 * What a taken-in click's button says (`decode`: null when garbled), with where to answer; a
 * garbled button is refused (refuseGarbledClick) and null returned.
 */
export async function decodeClick<T>(
  services: SlackServices,
  client: Replies['client'],
  item: IntakeItem,
  steps: IntakeSteps,
  refusedKind: string,
  decode: (data: ClickData) => T | null,
): Promise<{ data: ClickData; button: T; where: Where } | null> {
  const data = clickData(item);
  const button = decode(data);
  if (button === null) {
    await refuseGarbledClick(services, client, item, steps, refusedKind);
    return null;
  }
  return { data, button, where: { channel: data.channel, user: item.user } };
}

/**
 * Whether `user` approves for `role`, for a modal that must open while its trigger id lives
 * (3 s): null when the lookup fails or takes longer than `lookupMs`.
 */
export function approverWithin(
  services: SlackServices,
  user: string,
  role: SignoffRole,
  lookupMs: number,
): Promise<boolean | null> {
  return Promise.race([
    services.approvers.isApprover(user, role).catch(() => null),
    new Promise<null>((r) => setTimeout(() => r(null), lookupMs).unref()),
  ]);
}

/** What a modal submission carries into the intake. */
export interface FormData {
  privateMetadata: string;
  reason: string;
  expiresOn?: string;
}

/** A form submission taken in: its id is the submission's own (team, user, view id and hash, trigger id). */
function formItem(kind: string, { view, body, context }: Pick<ViewArgs, 'view' | 'body' | 'context'>, data: FormData) {
  return intakeItem(
    kind,
    [body.team?.id ?? '', body.user.id, view.id, view.hash, (body as { trigger_id?: string }).trigger_id ?? ''],
    body.user.id,
    context,
    data,
  );
}

/** Takes a form submission in durably, then acks it (closing the modal). */
export async function takeForm(intake: IntakeWriter, kind: string, args: ViewArgs, data: FormData): Promise<void> {
  await intake.take(formItem(kind, args, data));
  await args.ack();
}

export function formData(item: IntakeItem): FormData {
  return item.data as unknown as FormData;
}

/** A taken-in form whose metadata this app did not write: the user is told; audited under `refusedKind` when given. */
export async function refuseGarbledForm(
  services: SlackServices,
  client: Replies['client'],
  item: IntakeItem,
  steps: IntakeSteps,
  where: Where,
  refusedKind?: string,
): Promise<void> {
  if (refusedKind)
    await steps.once('audit', () =>
      services.store.audit(refusedKind, null, item.user, {
        reason: 'garbled_form',
        private_metadata: formData(item).privateMetadata.slice(0, 200),
      }),
    );
  await tellUser(client, where, renderNotice(GARBLED_FORM));
}
