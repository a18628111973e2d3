import type { CheckResult } from '../checks/types.js';
import { GateError } from '../errors.js';
import type { EvaluationStore } from '../store/redis-store.js';
import type { EvaluationState } from '../store/types.js';

const UNFINISHED = new Set(['pending', 'running']);

/** True once every automated check of the evaluation is final (sign-offs aside). */
export function automatedDone(state: EvaluationState): boolean {
  return state.checks.every((c) => c.category === 'signoff' || !UNFINISHED.has(c.status));
}

/**
 * Polls the store until every automated check of the evaluation is final. Polling the version
 * (one HGET) survives Redis restarts and app/worker restarts alike; results stream to `onResult`.
 */
export async function waitForChecks(
  store: EvaluationStore,
  id: string,
  opts: { timeoutMs: number; pollMs?: number; onResult?: (r: CheckResult) => void; now?: () => number },
): Promise<EvaluationState> {
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.timeoutMs;
  const seen = new Set<string>();
  let lastVersion = -1;
  for (;;) {
    const version = await store.version(id);
    if (version === null) throw new GateError('NOT_FOUND', `evaluation ${id} disappeared from Redis`);
    if (version !== lastVersion) {
      lastVersion = version;
      const state = await store.getState(id);
      if (!state) throw new GateError('NOT_FOUND', `evaluation ${id} disappeared from Redis`);
      for (const c of state.checks) {
        if (c.category !== 'signoff' && !UNFINISHED.has(c.status) && !seen.has(c.id)) {
          seen.add(c.id);
          opts.onResult?.(c);
        }
      }
      if (automatedDone(state)) return state;
    }
    if (now() > deadline) {
      throw new GateError(
        'USAGE',
        `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for the checks of evaluation ${id}; it continues on the workers (readiness status ${id})`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}
