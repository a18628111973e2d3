import { createHmac } from 'node:crypto';

/** Slack's v0 request signature: HMAC-SHA256 of `v0:${timestamp}:${body}` with the signing secret. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/** Headers Slack sends with a request: signature, timestamp (seconds) and content type. */
export function signedHeaders(
  secret: string,
  body: string,
  opts: { timestamp?: number; contentType?: string; retryNum?: number } = {},
): Record<string, string> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': slackSignature(secret, ts, body),
    ...(opts.retryNum !== undefined
      ? { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': 'http_timeout' }
      : {}),
  };
}

let triggerSeq = 0;

export interface CommandFields {
  text: string;
  user_id: string;
  channel_id?: string;
  team_id?: string;
  trigger_id?: string;
  response_url: string;
}

/** A slash command POST body as Slack sends it (form-encoded). */
export function commandBody(f: CommandFields): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: f.team_id ?? 'T0TEAM',
    team_domain: 'acme',
    channel_id: f.channel_id ?? 'C0GATE',
    channel_name: 'ml-releases',
    user_id: f.user_id,
    user_name: f.user_id.toLowerCase(),
    command: '/readiness',
    text: f.text,
    api_app_id: 'A0APP',
    is_enterprise_install: 'false',
    response_url: f.response_url,
    trigger_id: f.trigger_id ?? `${++triggerSeq}.${Date.now()}.trigger`,
  }).toString();
}

/** An interactivity POST body (form-encoded `payload=<json>`). */
export function interactionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A block_actions payload for a button click on a message in `channel`. */
export function buttonClick(opts: {
  user: string;
  actionId: string;
  value: string;
  channel?: string;
  messageTs?: string;
  responseUrl?: string;
  fromHome?: boolean;
}): Record<string, unknown> {
  const action = {
    type: 'button',
    action_id: opts.actionId,
    block_id: 'b',
    value: opts.value,
    text: { type: 'plain_text', text: 'x' },
    // like Slack's: seconds with microseconds, distinct for two clicks in the same millisecond
    action_ts: `${(Date.now() / 1000).toFixed(3)}${String(++triggerSeq % 1000).padStart(3, '0')}`,
  };
  const base = {
    type: 'block_actions',
    user: { id: opts.user, username: opts.user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    team: { id: 'T0TEAM', domain: 'acme' },
    trigger_id: `${++triggerSeq}.${Date.now()}.trigger`,
    actions: [action],
  };
  if (opts.fromHome)
    return {
      ...base,
      container: { type: 'view', view_id: 'V0HOME' },
      view: { id: 'V0HOME', type: 'home', team_id: 'T0TEAM' },
    };
  return {
    ...base,
    container: {
      type: 'message',
      message_ts: opts.messageTs ?? '1.1',
      channel_id: opts.channel ?? 'C0GATE',
      is_ephemeral: false,
    },
    channel: { id: opts.channel ?? 'C0GATE', name: 'ml-releases' },
    message: { ts: opts.messageTs ?? '1.1', type: 'message' },
    response_url: opts.responseUrl ?? 'http://127.0.0.1:9/none',
  };
}

/** A view_submission payload of the reject modal. */
export function rejectSubmission(opts: {
  user: string;
  privateMetadata: string;
  reason: string;
}): Record<string, unknown> {
  return {
    type: 'view_submission',
    user: { id: opts.user, username: opts.user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    team: { id: 'T0TEAM', domain: 'acme' },
    trigger_id: `${++triggerSeq}.${Date.now()}.trigger`,
    view: {
      id: 'V0MODAL',
      type: 'modal',
      callback_id: 'signoff_reject_modal',
      private_metadata: opts.privateMetadata,
      team_id: 'T0TEAM',
      hash: 'h',
      state: { values: { reason: { reason_input: { type: 'plain_text_input', value: opts.reason } } } },
    },
  };
}

/** An Events API envelope (JSON). */
export function eventBody(event: Record<string, unknown>): string {
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'T0TEAM',
    api_app_id: 'A0APP',
    type: 'event_callback',
    event_id: `Ev${++triggerSeq}`,
    event_time: Math.floor(Date.now() / 1000),
    event,
  });
}
