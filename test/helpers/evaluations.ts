import type { EvaluationStore } from '../../src/store/redis-store.js';
import { waitFor } from './wait.js';

/** A policy layer that makes export.inference's latency test long, deterministically (request count, not sleep). */
export function slowLatencyLayer(requests = 30_000) {
  return {
    source: 'test: long latency test',
    data: { latency: { requests, warmup_requests: 10, batch_sizes: [1], concurrency: [1] } },
  };
}

/** Waits until `checkId` runs and has reported progress; returns the pid of the worker running it. */
export async function waitForProgress(
  store: EvaluationStore,
  evaluationId: string,
  checkId: string,
  timeoutMs = 60_000,
): Promise<number> {
  let pid = -1;
  await waitFor(
    async () => {
      const s = await store.getState(evaluationId);
      const c = s?.checks.find((x) => x.id === checkId);
      if (c?.status !== 'running' || !(c.progress !== undefined && c.progress > 0)) return false;
      const m = /running on .*\/(\d+)/.exec(c.evidence.join('\n'));
      pid = m ? Number(m[1]) : -1;
      return pid > 0;
    },
    () => `${checkId} of ${evaluationId} never reported progress`,
    timeoutMs,
  );
  return pid;
}
