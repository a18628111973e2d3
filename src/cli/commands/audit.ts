import {
  type AuditFormat,
  type AuditWindow,
  CSV_HEADER,
  inWindow,
  normaliseEntry,
  parseInstant,
  parseTimestamp,
  renderRecord,
} from '../../audit/export.js';
import { loadProcessConfig } from '../../config/env.js';
import { GateError } from '../../errors.js';
import { auditStream, evaluationsOfRun } from '../../store/audit-read.js';
import { EVALUATION_ID, EvaluationStore } from '../../store/redis-store.js';
import type { Io } from '../output.js';

export interface AuditFlags {
  format: AuditFormat;
  since?: string;
  until?: string;
  now?: string;
  as?: 'run' | 'evaluation';
}

/** What the argument names: one evaluation, or every evaluation of a run (id → run name). */
async function resolveSubject(store: EvaluationStore, ref: string, as: AuditFlags['as']): Promise<Map<string, string>> {
  const evaluation = as !== 'run' && EVALUATION_ID.test(ref) ? await store.getEvaluation(ref) : null;
  const runEvaluations = as !== 'evaluation' ? await evaluationsOfRun(store, ref) : [];
  if (evaluation && runEvaluations.length > 0) {
    throw new GateError(
      'USAGE',
      `ambiguous: "${ref}" is both an evaluation id and a run name; add --as evaluation or --as run`,
    );
  }
  if (evaluation) return new Map([[evaluation.id, evaluation.run]]);
  if (runEvaluations.length > 0) return new Map(runEvaluations.map((id) => [id, ref]));
  const what =
    as === 'run'
      ? 'a run with evaluations'
      : as === 'evaluation'
        ? 'an evaluation id'
        : 'an evaluation id nor a run with evaluations';
  throw new GateError('NOT_FOUND', `no evaluation "${ref}" (${as ? 'not' : 'neither'} ${what})`);
}

/**
 * `readiness audit <run|evaluation>`: the audit stream's entries of one evaluation, or of every
 * evaluation of a run, oldest first, as JSON Lines or CSV (docs/audit.md). Read a page at a time
 * and written as read.
 */
export async function auditCommand(ref: string, o: AuditFlags, io: Io): Promise<void> {
  const now = o.now === undefined ? Date.now() : parseTimestamp(o.now, '--now');
  const window: AuditWindow = {};
  if (o.since !== undefined) window.since = parseInstant(o.since, now, '--since');
  if (o.until !== undefined) window.until = parseInstant(o.until, now, '--until');
  if (window.since !== undefined && window.until !== undefined && window.until <= window.since) {
    throw new GateError(
      'USAGE',
      `--until (${new Date(window.until).toISOString()}) must be later than --since (${new Date(window.since).toISOString()})`,
    );
  }
  const config = loadProcessConfig({ need: ['REDIS_URL'] });
  const { connectRedis } = await import('../../queue/connection.js');
  const redis = await connectRedis(config.REDIS_URL, { connectionName: 'readiness-audit' });
  try {
    const store = new EvaluationStore(redis, { prefix: config.REDIS_PREFIX });
    const runOf = await resolveSubject(store, ref, o.as);
    if (o.format === 'csv') io.stdout.write(CSV_HEADER);
    let undated = 0;
    for await (const entry of auditStream(store)) {
      if (!entry.evaluation || !runOf.has(entry.evaluation)) continue;
      const inside = inWindow(entry.at, window);
      if (inside === null) undated += 1;
      if (!inside) continue;
      io.stdout.write(renderRecord(normaliseEntry(entry, runOf.get(entry.evaluation) ?? null), o.format));
    }
    if (undated > 0)
      io.stderr.write(
        `readiness: ${undated} entr${undated === 1 ? 'y' : 'ies'} without a readable time left out by --since/--until\n`,
      );
  } finally {
    redis.disconnect();
  }
}
