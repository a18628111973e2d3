/**
 * `webhooks:` in READINESS_CONFIG: where gate events are POSTed. A secret is named by an
 * environment variable or a file, never written inline (it would sit in the config and its logs).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { GateError } from '../errors.js';

export const WEBHOOK_EVENTS = ['passed', 'blocked', 'waived', 'pending-too-long', 'revoked'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const DURATION = /^(\d+)\s*(m|h|d)$/;

function durationMs(text: string): number {
  const m = DURATION.exec(text.trim()) as RegExpExecArray;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

export const WebhookSchema = z
  .strictObject({
    url: z
      .string()
      .trim()
      .refine(
        (v) => {
          try {
            const u = new URL(v);
            return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
          } catch {
            return false;
          }
        },
        { message: 'expected an http(s) URL without credentials in it' },
      )
      .describe('Receiver URL; every POST is signed (docs/attestation.md#webhooks).'),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .describe(`Gate events to send: ${WEBHOOK_EVENTS.join(', ')}.`),
    secret_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, { message: 'expected an environment variable name like DEPLOY_HOOK_SECRET' })
      .optional()
      .describe('Environment variable that holds the signing secret.'),
    secret_file: z
      .string()
      .trim()
      .min(1)
      .optional()
      .describe('File that holds the signing secret (e.g. a mounted secret); trailing newline ignored.'),
    secret: z
      .unknown()
      .optional()
      .describe('Refused: secrets are never written inline; use secret_env or secret_file.'),
    pending_too_long_after: z
      .string()
      .regex(DURATION, { message: 'expected a duration like 30m, 12h or 2d' })
      .default('24h')
      .describe('With the pending-too-long event: how long an evaluation may stay PENDING before it is sent.'),
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(8)
      .describe('Delivery attempts (exponential backoff) before a delivery is given up.'),
  })
  .superRefine((w, ctx) => {
    if (w.secret !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'inline secrets are not accepted; name an environment variable (secret_env) or a file (secret_file)',
      });
    if ((w.secret_env === undefined) === (w.secret_file === undefined))
      ctx.addIssue({ code: 'custom', path: ['secret_env'], message: 'set exactly one of secret_env or secret_file' });
  });

export type WebhookConfig = z.infer<typeof WebhookSchema>;

/** A webhook with its secret read, ready to deliver to. */
export interface ResolvedWebhook {
  /** Stable id (no ':'): sha256 of the URL, 12 hex digits. Job payloads carry it, never the secret. */
  id: string;
  url: string;
  events: readonly WebhookEvent[];
  secret: string;
  pendingTooLongMs: number;
  maxAttempts: number;
}

export function webhookId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 12);
}

/** Reads each webhook's secret; a missing variable or file stops start-up naming it (never the value). */
export async function resolveWebhooks(
  hooks: readonly WebhookConfig[],
  lookupEnv: (name: string) => string | undefined,
): Promise<ResolvedWebhook[]> {
  const out: ResolvedWebhook[] = [];
  for (const [i, h] of hooks.entries()) {
    let secret: string | undefined;
    if (h.secret_env !== undefined) {
      secret = lookupEnv(h.secret_env);
      if (!secret)
        throw new GateError(
          'CONFIG_INVALID',
          `webhooks[${i}].secret_env: ${h.secret_env} is not set; expected the webhook's signing secret`,
        );
    } else if (h.secret_file !== undefined) {
      try {
        secret = (await readFile(h.secret_file, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        throw new GateError(
          'CONFIG_INVALID',
          `webhooks[${i}].secret_file: ${h.secret_file} cannot be read: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    if (!secret || secret.length < 16)
      throw new GateError('CONFIG_INVALID', `webhooks[${i}]: the signing secret must be at least 16 characters`);
    out.push({
      id: webhookId(h.url),
      url: h.url,
      events: h.events,
      secret,
      pendingTooLongMs: durationMs(h.pending_too_long_after),
      maxAttempts: h.max_attempts,
    });
  }
  return out;
}

/** Where a receiver is, for logs and the audit: origin and path, never the query (tokens hide there). */
export function displayUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
