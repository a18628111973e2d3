/**
 * Webhook signatures, the way Slack signs its own requests: HMAC-SHA256 over `v0:<timestamp>:<body>`
 * with the webhook's secret, sent as `X-Readiness-Signature: v0=<hex>` with
 * `X-Readiness-Request-Timestamp: <unix seconds>`. Pure; the clock is passed in.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Readiness-Signature';
export const TIMESTAMP_HEADER = 'X-Readiness-Request-Timestamp';
export const EVENT_HEADER = 'X-Readiness-Event';
export const DELIVERY_HEADER = 'X-Readiness-Delivery';

export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Receiver side: the signature matches and the timestamp is within `toleranceSec` of now (replays refused). */
export function verifyWebhookSignature(input: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  nowMs: number;
  toleranceSec?: number;
}): boolean {
  if (!input.timestamp || !input.signature || !/^\d+$/.test(input.timestamp)) return false;
  const ts = Number(input.timestamp);
  if (Math.abs(input.nowMs / 1000 - ts) > (input.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(webhookSignature(input.secret, ts, input.body));
  const given = Buffer.from(input.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
