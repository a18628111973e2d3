import { performance } from 'node:perf_hooks';
import { errorMessage, GateError } from '../errors.js';
import type { CheckContext, CheckDefinition, CheckOutcome, CheckProgress, CheckResult } from './types.js';

/** A result for a check that has not run yet. */
export function pendingResult(def: CheckDefinition, evidence: string[] = ['not run yet']): CheckResult {
  return {
    id: def.id,
    category: def.category,
    title: def.title,
    status: 'pending',
    evidence,
    metrics: {},
    remediation: null,
    duration_ms: 0,
  };
}

export function skippedResult(def: CheckDefinition, reason: string): CheckResult {
  return { ...pendingResult(def, [reason]), status: 'skipped' };
}

/** Turns an exception escaping a check into its result: hostile input fails as a security finding. */
export function outcomeFromError(err: unknown): CheckOutcome {
  if (err instanceof GateError) {
    if (err.hostile) {
      return { status: 'fail', security: true, evidence: [`security finding: ${err.message}`] };
    }
    return { status: 'error', evidence: [err.message] };
  }
  return { status: 'error', evidence: [`check crashed: ${errorMessage(err)}`] };
}

export type LimitKind = 'time' | 'memory';

/** A check ended by one of its limits: the limit, and what was observed when it was enforced. */
export class CheckLimitExceeded extends Error {
  constructor(
    readonly kind: LimitKind,
    /** Seconds (time) or MB (memory). */
    readonly limit: number,
    readonly setting: string,
  ) {
    super(kind === 'time' ? `exceeded ${limit} s (${setting})` : `exceeded ${limit} MB (${setting})`);
    this.name = 'CheckLimitExceeded';
  }
}

/** The time limit of a check under a policy, in ms. */
export function checkTimeoutMs(def: Pick<CheckDefinition, 'heavy'>, policy: CheckContext['policy']): number {
  return policy.limits.check_timeout_s[def.heavy ? 'heavy' : 'light'] * 1000;
}

export function timeLimit(def: Pick<CheckDefinition, 'heavy'>, policy: CheckContext['policy']): CheckLimitExceeded {
  const lane = def.heavy ? 'heavy' : 'light';
  return new CheckLimitExceeded('time', policy.limits.check_timeout_s[lane], `limits.check_timeout_s.${lane}`);
}

/** The stored result of a check stopped at a limit: an `error` that names the limit. */
export function limitExceededResult(def: CheckDefinition, err: CheckLimitExceeded, durationMs: number): CheckResult {
  const what = def.heavy ? 'the check process was killed and restarted' : 'the check was abandoned';
  return {
    id: def.id,
    category: def.category,
    title: def.title,
    status: 'error',
    evidence: [`${def.id} ${err.message}; ${what} and the queue moved on`],
    metrics: { limit_exceeded: err.kind, limit: err.limit },
    remediation: `${def.remediation} The check ${err.message}: look for a model or artifact that is far larger or slower than it should be, or raise ${err.setting} in the team policy if the artifacts are legitimately this large.`,
    duration_ms: Math.round(durationMs),
  };
}

/** Settles with `p`, or rejects with `limit` once `ms` have passed (aborting `controller`). */
function withTimeLimit<T>(
  p: Promise<T>,
  ms: number,
  limit: CheckLimitExceeded,
  controller: AbortController,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort(limit);
      reject(limit);
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export interface RunCheckOptions {
  /** Time limit in ms; defaults to the policy's `limits.check_timeout_s` for the check's lane; 0 = none (the caller enforces it). */
  timeoutMs?: number;
  /** Told when the check is stopped at its time limit while its work may still be running (see observability/health). */
  onAbandoned?: (settled: Promise<unknown>) => void;
  /** Monotonic clock in ms for `duration_ms` (default performance.now). */
  now?: () => number;
}

/**
 * Runs one check, never throwing: a crash becomes `error`, hostile input a security `fail`, and a
 * check still running at its time limit an `error` "exceeded N s" (its signal is aborted).
 * Remediation is attached to every non-passing result.
 */
export async function runCheck(
  def: CheckDefinition,
  ctx: CheckContext,
  opts: RunCheckOptions = {},
): Promise<CheckResult> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const timeoutMs = opts.timeoutMs ?? checkTimeoutMs(def, ctx.policy);
  let outcome: CheckOutcome;
  try {
    if (timeoutMs > 0) {
      const controller = new AbortController();
      const outer = ctx.signal;
      const forward = () => controller.abort(outer?.reason);
      if (outer?.aborted) forward();
      else outer?.addEventListener('abort', forward, { once: true });
      const work = def.run({ ...ctx, signal: controller.signal });
      try {
        outcome = await withTimeLimit(work, timeoutMs, timeLimit(def, ctx.policy), controller);
      } catch (err) {
        if (err instanceof CheckLimitExceeded) opts.onAbandoned?.(work.catch(() => undefined));
        throw err;
      } finally {
        outer?.removeEventListener('abort', forward);
      }
    } else {
      outcome = await def.run(ctx);
    }
  } catch (err) {
    if (err instanceof CheckLimitExceeded) return limitExceededResult(def, err, now() - started);
    outcome = outcomeFromError(err);
  }
  const duration_ms = Math.round((now() - started) * 1000) / 1000;
  const passing = outcome.status === 'pass' || outcome.status === 'skipped';
  const result: CheckResult = {
    id: def.id,
    category: def.category,
    title: def.title,
    status: outcome.status,
    evidence: outcome.evidence,
    metrics: outcome.metrics ?? {},
    remediation: passing ? null : (outcome.remediation ?? def.remediation),
    duration_ms,
  };
  if (outcome.security) result.security = true;
  return result;
}

/** Runs a heavy check somewhere else (a child process with time and memory limits: src/worker/heavy-runner.ts). */
export type HeavyExecutor = (def: CheckDefinition, ctx: CheckContext) => Promise<CheckResult>;

export interface RunChecksOptions {
  /** Leave heavy checks as `skipped` (e.g. `--skip-heavy`). */
  skipHeavy?: boolean;
  /** Where heavy checks run; without it they run in this process (time limit only). */
  runHeavy?: HeavyExecutor;
  /** Only run these ids; the others are reported `skipped`. */
  only?: readonly string[];
  onResult?: (r: CheckResult) => void;
  onProgress?: (id: string, p: CheckProgress) => void;
  signal?: AbortSignal;
}

/** Runs the checks in order (one at a time: heavy checks must not share the CPU). */
export async function runChecks(
  defs: readonly CheckDefinition[],
  ctx: Omit<CheckContext, 'onProgress'>,
  opts: RunChecksOptions = {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const def of defs) {
    let r: CheckResult;
    if (opts.only && !opts.only.includes(def.id)) {
      r = skippedResult(def, 'not selected in this run');
    } else if (def.heavy && opts.skipHeavy) {
      r = skippedResult(def, 'heavy check skipped (--skip-heavy); the gate stays pending until it runs');
    } else {
      const onProgress = opts.onProgress ? (p: CheckProgress) => opts.onProgress?.(def.id, p) : undefined;
      const checkCtx: CheckContext = { ...ctx };
      if (onProgress) checkCtx.onProgress = onProgress;
      if (opts.signal) checkCtx.signal = opts.signal;
      r = def.heavy && opts.runHeavy ? await opts.runHeavy(def, checkCtx) : await runCheck(def, checkCtx);
    }
    results.push(r);
    opts.onResult?.(r);
  }
  return results;
}
