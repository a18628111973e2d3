import { type Command, Option } from 'commander';
import {
  AUDIT_FORMATS,
  type AuditFormat,
  type AuditWindow,
  CSV_HEADER,
  inWindow,
  normaliseEntry,
  parseInstant,
  parseTimestamp,
  renderRecord,
} from '../audit/export.js';
import { loadProcessConfig } from '../config/env.js';
import { GateError } from '../errors.js';
import { auditStream, evaluationsOfRun } from '../store/audit-read.js';
import { EVALUATION_ID, EvaluationStore } from '../store/redis-store.js';
import type { Io } from './output.js';

interface AuditFlags {
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
export function registerAudit(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('audit')
    .description(
      'export the audit log of an evaluation, or of every evaluation of a run, from the shared store (REDIS_URL)',
    )
    .argument('<run-or-evaluation>', 'a run name (all its evaluations) or an evaluation id')
    .addOption(new Option('--format <format>', 'output format').choices(AUDIT_FORMATS).default('jsonl'))
    .option(
      '--since <when>',
      'only entries at or after this: an ISO 8601 timestamp (2026-11-24T09:00:00Z) or a duration back from now (7d, 12h)',
    )
    .option('--until <when>', 'only entries before this (same forms as --since)')
    .option(
      '--now <timestamp>',
      'the time durations count back from (ISO 8601; default the current time), for a reproducible export',
    )
    .addOption(
      new Option('--as <kind>', 'read the argument as a run or an evaluation id (when a name is both)').choices([
        'run',
        'evaluation',
      ]),
    )
    .action(async (ref: string, o: AuditFlags) => {
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
      const { connectRedis } = await import('../queue/connection.js');
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
        setExit(0);
      } finally {
        redis.disconnect();
      }
    });
}
