import type { Harness } from '../slack/harness.js';
import { buttons, SECRET } from '../slack/harness.js';
import { interactionBody, signedHeaders } from './slack-sign.js';

/** Button values by action id, section accessories included. */
export function allButtons(blocks: unknown): Map<string, string> {
  const out = buttons(blocks);
  for (const b of blocks as { type: string; accessory?: { action_id?: string; value?: string } }[])
    if (b.accessory?.action_id && b.accessory.value) out.set(b.accessory.action_id, b.accessory.value);
  return out;
}

function submission(
  user: string,
  callbackId: string,
  privateMetadata: string,
  values: Record<string, unknown>,
): Record<string, unknown> {
  return {
    type: 'view_submission',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    team: { id: 'T0TEAM', domain: 'acme' },
    trigger_id: `${Math.random()}.trigger`,
    view: {
      id: `V${Math.floor(Math.random() * 1e9)}`,
      type: 'modal',
      callback_id: callbackId,
      private_metadata: privateMetadata,
      team_id: 'T0TEAM',
      hash: `h${Math.random()}`,
      state: { values },
    },
  };
}

export async function submitWaiverRequest(h: Harness, user: string, meta: string, reason: string, date: string | null) {
  const body = interactionBody(
    submission(user, 'waiver_request_modal', meta, {
      waiver_reason: { waiver_reason_input: { type: 'plain_text_input', value: reason } },
      waiver_expiry: { waiver_expiry_input: { type: 'datepicker', selected_date: date } },
    }),
  );
  return h.post(body, signedHeaders(SECRET, body));
}

export async function submitWaiverReject(h: Harness, user: string, meta: string, reason: string) {
  const body = interactionBody(
    submission(user, 'waiver_reject_modal', meta, {
      waiver_reason: { waiver_reason_input: { type: 'plain_text_input', value: reason } },
    }),
  );
  return h.post(body, signedHeaders(SECRET, body));
}
