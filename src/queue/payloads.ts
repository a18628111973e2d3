import { z } from 'zod';
import { EVALUATION_ID } from '../store/redis-store.js';

/** Job payloads carry references only: the evaluation and the check, never artifacts or secrets. */
export const CheckJobSchema = z.strictObject({
  evaluationId: z.string().regex(EVALUATION_ID, { message: 'expected an evaluation id' }),
  checkId: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, { message: 'expected a check id like export.parity' }),
});
export type CheckJob = z.infer<typeof CheckJobSchema>;

export const EVENT_REASONS = [
  'created',
  'superseded',
  'check_running',
  'check_progress',
  'check_result',
  'check_released',
  'signoff',
  'message_ref',
  'check_rerun',
] as const;

export const EvaluationEventSchema = z.strictObject({
  evaluationId: z.string().regex(EVALUATION_ID, { message: 'expected an evaluation id' }),
  /** Store version after the change; a consumer that already rendered this version or a later one skips it. */
  version: z.number().int().positive(),
  reason: z.enum(EVENT_REASONS),
});
export type EvaluationEvent = z.infer<typeof EvaluationEventSchema>;
