import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { errorMessage, GateError } from '../../../errors.js';
import type { IntakeItem, IntakeSteps, IntakeWriter } from '../../../queue/intake.js';
import { renderMarkdown } from '../../../report/markdown.js';
import { reportFromState } from '../../../store/redis-store.js';
import type { EvaluationState } from '../../../store/types.js';
import { escapeMrkdwn } from '../../blocks/limits.js';
import { type ListRow, renderEvaluationList } from '../../blocks/list.js';
import {
  renderHelp,
  renderInlineReport,
  renderNotice,
  renderStatus,
  renderUsageError,
  reportFilename,
  type StatusRow,
} from '../../blocks/replies.js';
import { CommandUsageError, type ListFilter, parseCommand, type ReadinessCommand } from '../../command.js';
import type { Replies, SlackServices } from '../../services.js';
import { pendingRoles, rolesAwaiting, signoffIsOpen } from '../../waiting.js';
import { intakeItem } from '../taken-in.js';

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
type Respond = (msg: string | Record<string, unknown>) => Promise<void>;

function ephemeral(msg: { text: string; blocks: unknown[] }): {
  response_type: 'ephemeral';
  text: string;
  blocks: never[];
} {
  return { response_type: 'ephemeral', text: msg.text, blocks: msg.blocks as never[] };
}

function statusRow(s: EvaluationState): StatusRow {
  const r = reportFromState(s);
  return {
    run: s.evaluation.run,
    modelName: r.model_name,
    gate: s.gate,
    evaluationId: s.evaluation.id,
    blocking: r.blocking,
    outstanding: r.outstanding,
  };
}

/** Says how a fractional `--target` was read, so 0.9 meaning 90 % is never silent (as the CLI does). */
function targetNote(cmd: ReadinessCommand): string {
  if (cmd.kind !== 'run' || cmd.targetAsFraction === undefined || cmd.target === undefined) return '';
  const t = escapeMrkdwn(cmd.targetAsFraction);
  return ` \`--target ${t}\` is read as a fraction: ${Number(cmd.target.toFixed(4))}% (write \`${t}%\` for ${t} percent).`;
}

/** Errors a user can act on (run not found, path escapes, bad policy) versus our own failures. */
function userFacing(err: unknown): string {
  if (err instanceof GateError) return err.message;
  return `something went wrong on our side (${errorMessage(err)}); try again, or ask the gate's maintainers`;
}

/** What a `/readiness` command carries into the intake (the request's own fields). */
interface CommandData {
  team: string;
  channel: string;
  text: string;
  triggerId: string;
  responseUrl: string;
}

/** Evaluation id of a run command: the same command processed again (after a crash) is the same evaluation. */
export function evaluationIdFor(item: Pick<IntakeItem, 'id' | 'receivedAt'>): string {
  return `ev-${item.receivedAt.toString(36)}-${item.id.slice(item.id.indexOf('-') + 1, item.id.indexOf('-') + 11)}`;
}

/**
 * `/readiness …`: parse (usage errors and help are answered in the ack itself, nothing is stored),
 * take the command into the durable intake, then ack. The work happens in `processCommand`, in
 * whichever app process takes the item; its answers are ephemeral or the gate message.
 */
export function readinessCommand(services: SlackServices, intake: IntakeWriter) {
  return async function onReadinessCommand({ command, ack, context }: CommandArgs): Promise<void> {
    let cmd: ReadinessCommand;
    try {
      cmd = parseCommand(command.text ?? '', { policies: Object.keys(services.config.policies) });
    } catch (err) {
      if (!(err instanceof CommandUsageError)) throw err;
      await ack(ephemeral(renderUsageError(err.message)));
      return;
    }
    if (cmd.kind === 'help') {
      await ack(ephemeral(renderHelp()));
      return;
    }
    if (cmd.kind === 'run' || cmd.kind === 'rerun') {
      // A missing or escaping run is said in the ack itself (nothing is stored), never after promising a gate message.
      const refused = await services.submitter.checkRun(cmd.run).then(
        () => null,
        (err: unknown) => (err instanceof GateError ? err.message : null),
      );
      if (refused !== null) {
        await ack(ephemeral(renderNotice(`⚠️ ${escapeMrkdwn(refused)}`)));
        return;
      }
    }
    const data: CommandData = {
      team: command.team_id,
      channel: command.channel_id,
      text: command.text ?? '',
      triggerId: command.trigger_id,
      responseUrl: command.response_url,
    };
    // Not acked unless stored: if this throws, Slack gets an error and delivers the command again.
    await intake.take(intakeItem('command', [command.team_id, command.trigger_id], command.user_id, context, data));
    if (cmd.kind === 'run' || cmd.kind === 'rerun')
      await ack(
        ephemeral(
          renderNotice(
            `⏳ Evaluating \`${escapeMrkdwn(cmd.run)}\`… the gate message will appear in this channel.${targetNote(cmd)}`,
          ),
        ),
      );
    else await ack();
  };
}

/** Processes a taken-in `/readiness` command (idempotent: it may run again after a crash). */
export function processCommand(services: SlackServices, replies: Replies) {
  return async function onCommandItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = item.data as unknown as CommandData;
    const respond: Respond = async (msg) =>
      replies.respond(data.responseUrl, typeof msg === 'string' ? { text: msg } : (msg as Record<string, unknown>));
    let cmd: ReadinessCommand;
    try {
      cmd = parseCommand(data.text, { policies: Object.keys(services.config.policies) });
    } catch (err) {
      if (!(err instanceof CommandUsageError)) throw err;
      await respond(ephemeral(renderUsageError(err.message)));
      return;
    }
    const evaluationId = evaluationIdFor(item);
    try {
      switch (cmd.kind) {
        case 'help':
          await respond(ephemeral(renderHelp()));
          return;
        case 'run':
        case 'rerun': {
          if (cmd.kind === 'rerun' && cmd.check) {
            const check = cmd.check;
            const run = cmd.run;
            // a second processing would see the check pending again ("busy"): keep the first answer
            const text = await steps.once('rerun', async () => {
              const r = await services.submitter.rerunCheck({
                run,
                check,
                requester: item.user,
                channel: data.channel,
                evaluationId,
              });
              if (r.kind === 'new') {
                services.renderer.watch(r.result.evaluation.id);
                if (r.result.superseded) services.renderer.schedule(r.result.superseded.id);
                return `A new evaluation was created (${escapeMrkdwn(r.why)}): every check runs again; earlier approvals do not carry over.`;
              }
              services.renderer.watch(r.evaluation.id);
              services.renderer.schedule(r.evaluation.id);
              return r.kind === 'check'
                ? `\`${r.check}\` runs again on the same artifacts (evaluation ${r.evaluation.id}); the gate is pending until it finishes.`
                : `\`${r.check}\` is still pending or running in evaluation ${r.evaluation.id}; nothing to rerun yet.`;
            });
            await respond(ephemeral(renderNotice(text)));
            return;
          }
          const out = await services.submitter.submit({
            run: cmd.run,
            requester: item.user,
            channel: data.channel,
            target: cmd.kind === 'run' ? cmd.target : undefined,
            policy: cmd.kind === 'run' ? cmd.policy : undefined,
            evaluationId,
          });
          services.renderer.watch(out.evaluation.id);
          if (out.superseded) services.renderer.schedule(out.superseded.id);
          return;
        }
        case 'status':
          await statusReply(services, respond, cmd.run);
          return;
        case 'list':
          await respond(ephemeral(await listReply(services, item.user, cmd.filter)));
          return;
        case 'report':
          await steps.once('report', async () => {
            await reportReply(services, respond, replies.client, data.channel, cmd.run);
            return true;
          });
          return;
      }
    } catch (err) {
      services.log.warn({ err, command: cmd.kind }, '/readiness command failed');
      await respond(ephemeral(renderNotice(`⚠️ ${escapeMrkdwn(userFacing(err))}`)));
    }
  };
}

async function statusReply(services: SlackServices, respond: Respond, run: string | undefined): Promise<void> {
  const states = run
    ? [await services.store.latestForRun(run)].filter((s): s is EvaluationState => s !== null)
    : await services.store.listOpen(50);
  await respond(ephemeral(renderStatus(states.map(statusRow), run)));
}

/** How many open evaluations `/readiness list` reads from the open index (newest first). */
const LIST_SCAN = 200;

/** `/readiness list [mine|waiting]`: open evaluations, newest first, filtered for the user. */
async function listReply(services: SlackServices, user: string, filter: ListFilter) {
  const { states, more } = await services.store.listOpenNewest(LIST_SCAN);
  const userRoles = filter === 'waiting' ? await services.approvers.rolesOf(user) : [];
  const rows: ListRow[] = [];
  for (const s of states) {
    if (s.evaluation.superseded_by) continue;
    if (filter === 'mine' && s.evaluation.requester !== user) continue;
    const report = reportFromState(s);
    const yourRoles =
      filter === 'waiting' ? rolesAwaiting(s, report, user, userRoles, services.config.one_role_per_person) : [];
    if (filter === 'waiting' && yourRoles.length === 0) continue;
    rows.push({
      evaluationId: s.evaluation.id,
      run: s.evaluation.run,
      modelName: report.model_name,
      gate: report.gate,
      requester: s.evaluation.requester,
      createdAt: s.evaluation.created_at,
      message: s.evaluation.message,
      outstandingChecks: report.outstanding.filter((c) => !c.startsWith('signoff.')),
      blockingChecks: report.blocking.filter((c) => !c.startsWith('signoff.')),
      pendingRoles: pendingRoles(report),
      signoffOpen: signoffIsOpen(report),
      ...(filter === 'waiting' ? { yourRoles } : {}),
    });
  }
  return renderEvaluationList({ filter, rows, truncated: more });
}

/** The final report (same renderer as `readiness check --format markdown`): inline when small, else a file. */
async function reportReply(
  services: SlackServices,
  respond: Respond,
  client: Replies['client'],
  channel: string,
  run: string,
): Promise<void> {
  const state = await services.store.latestForRun(run);
  if (!state) {
    await respond(
      ephemeral(
        renderNotice(
          `No evaluation of \`${escapeMrkdwn(run)}\` yet. Start one with \`/readiness run ${escapeMrkdwn(run)}\`.`,
        ),
      ),
    );
    return;
  }
  const markdown = renderMarkdown(reportFromState(state));
  const inline = renderInlineReport(markdown, run);
  if (inline) {
    await client.chat.postMessage({ channel, text: inline.text, blocks: inline.blocks });
    return;
  }
  await client.filesUploadV2({
    channel_id: channel,
    content: markdown,
    filename: reportFilename(run),
    // plain text in Slack, but artifact-derived text leaves the process only through the one escaping function
    title: `Readiness report: ${escapeMrkdwn(run)}`,
    initial_comment: `Final readiness report for \`${escapeMrkdwn(run)}\``,
  });
}
