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

/**
 * Runs one check, never throwing: a crash becomes `error`, hostile input a security `fail`.
 * Remediation is attached to every non-passing result.
 */
export async function runCheck(def: CheckDefinition, ctx: CheckContext): Promise<CheckResult> {
  const started = performance.now();
  let outcome: CheckOutcome;
  try {
    outcome = await def.run(ctx);
  } catch (err) {
    outcome = outcomeFromError(err);
  }
  const duration_ms = Math.round((performance.now() - started) * 1000) / 1000;
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

export interface RunChecksOptions {
  /** Leave heavy checks as `skipped` (e.g. `--skip-heavy`). */
  skipHeavy?: boolean;
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
      r = await runCheck(def, checkCtx);
    }
    results.push(r);
    opts.onResult?.(r);
  }
  return results;
}
