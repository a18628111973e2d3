import { z } from 'zod';

/**
 * A JSON payload this app wrote into Slack (a button's value, a modal's private_metadata), read
 * back: null for anything it did not write (forged or garbled, too long, not JSON, not the schema).
 */
export function readPayload<S extends z.ZodType>(raw: unknown, maxChars: number, schema: S): z.output<S> | null {
  if (typeof raw !== 'string' || raw.length > maxChars) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const r = schema.safeParse(parsed);
  return r.success ? r.data : null;
}

/** The fields payloads share, by their one-letter keys: the evaluation and the digest the message showed. */
export const EVALUATION_FIELDS = {
  e: z.string().min(1).max(200),
  d: z.string().regex(/^[0-9a-f]{8,128}$/),
};
/** A waiver's check id and (approve/reject payloads) the waiver id. */
export const WAIVER_FIELDS = {
  c: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
  w: z
    .string()
    .regex(/^wv-[a-z0-9]+-[0-9a-f]+$/)
    .optional(),
};
