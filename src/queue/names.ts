/** BullMQ queue names (no ':', BullMQ uses it as its key separator). */
export const QUEUE_NAMES = {
  /** Light checks: documents, checkpoints, consistency; several at a time per worker. */
  light: 'readiness-light',
  /** Heavy checks (ONNX parity, latency): one at a time per worker so a latency test never shares its CPU. */
  heavy: 'readiness-heavy',
  /** "Evaluation changed" notifications the Slack app consumes (durable, unlike pub/sub). */
  events: 'readiness-events',
  /** Signed webhook deliveries of gate events (src/webhooks). */
  webhooks: 'readiness-webhooks',
  /** Commands and clicks taken in before their ack, processed by any app process (durable). */
  intake: 'readiness-intake',
  /** Sign-off reminders and escalations: delayed jobs, durable across restarts (src/queue/reminders.ts). */
  signoffTimers: 'readiness-signoff-timers',
} as const;

export type CheckQueueKind = 'light' | 'heavy';

/** BullMQ key prefix for a deployment prefix (store keys use `<prefix>:`, BullMQ `<prefix>-bull:`). */
export function bullPrefix(prefix: string): string {
  return `${prefix}-bull`;
}

/** Deterministic job id of a check of an evaluation: a second submission of it is the same job. */
export function checkJobId(evaluationId: string, checkId: string): string {
  return `${evaluationId}__${checkId}`;
}

/** Job id of a change notification: one per evaluation version, so a burst is one job per version and consumers coalesce. */
export function eventJobId(evaluationId: string, version: number): string {
  return `${evaluationId}__v${version}`;
}
