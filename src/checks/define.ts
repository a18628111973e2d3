import type { CheckDefinition, CheckOutcome } from './types.js';

export function defineCheck(def: CheckDefinition): CheckDefinition {
  return def;
}

export const pass = (evidence: string[], metrics: CheckOutcome['metrics'] = {}): CheckOutcome => ({
  status: 'pass',
  evidence,
  metrics,
});
export const warn = (evidence: string[], metrics: CheckOutcome['metrics'] = {}): CheckOutcome => ({
  status: 'warn',
  evidence,
  metrics,
});
export const fail = (
  evidence: string[],
  metrics: CheckOutcome['metrics'] = {},
  extra: Partial<CheckOutcome> = {},
): CheckOutcome => ({
  status: 'fail',
  evidence,
  metrics,
  ...extra,
});

/** Formats a number for evidence: at most `digits` decimals, no trailing zeros. */
export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  return String(Number(n.toFixed(digits)));
}
