import { loadProcessConfig } from '../../config/env.js';
import { GateError } from '../../errors.js';
import { EVALUATION_ID, EvaluationStore, reportFromState } from '../../store/redis-store.js';
import { checkOutputPath, emitReport, exitCodeFor, exitWith, type Io, type ReportOutputOptions } from '../output.js';

/** `readiness status <evaluation-id-or-run>`: the stored evaluation's report (exit code as `readiness check`). */
export async function statusCommand(ref: string, o: ReportOutputOptions, io: Io): Promise<void> {
  await checkOutputPath(o.output);
  const config = loadProcessConfig({ need: ['REDIS_URL'] });
  const { connectRedis } = await import('../../queue/connection.js');
  const redis = await connectRedis(config.REDIS_URL, { connectionName: 'readiness-status' });
  try {
    const store = new EvaluationStore(redis, { prefix: config.REDIS_PREFIX });
    const state =
      (EVALUATION_ID.test(ref) ? await store.getState(ref) : null) ?? (await store.latestForRun(ref).catch(() => null));
    if (!state)
      throw new GateError('NOT_FOUND', `no evaluation "${ref}" (neither an evaluation id nor a run with evaluations)`);
    const e = state.evaluation;
    const running = state.checks.filter((c) => c.status === 'running' || c.status === 'pending').length;
    io.stderr.write(
      `evaluation ${e.id} · run ${e.run} · version ${e.version} · requested by ${e.requester} at ${e.created_at}` +
        `${e.superseded_by ? ` · SUPERSEDED by ${e.superseded_by} (its sign-offs no longer count)` : ''}` +
        `${running > 0 ? ` · ${running} check(s) still pending or running` : ''}\n`,
    );
    const report = reportFromState(state);
    await emitReport(report, o, io);
    exitWith(exitCodeFor(report));
  } finally {
    redis.disconnect();
  }
}
