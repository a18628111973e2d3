import { Decimal } from './decimal.js';

/** How an accuracy was written: the gate normalises to percent and says which it read. */
export interface Accuracy {
  /** Normalised to percent (0–100); the nearest float of `exact`, for metrics and display. */
  percent: number;
  /** Normalised to percent, exactly as written (a fraction shifted by two places). */
  exact: Decimal;
  read: 'percent' | 'fraction';
  /** The text it came from. */
  raw: string;
  /** Decimals as written, for "agrees within rounding" comparisons. */
  decimals: number;
}

export interface WrittenNumber {
  value: number;
  exact: Decimal;
  text: string;
  decimals: number;
  percentSign: boolean;
}

/** First number in a string ("82.8%", "0.828", "82.8 % (↑1.2)"), with its decimals. */
export function firstNumber(s: string): WrittenNumber | null {
  const m = /(?<![\w.])(-?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)\s*(%|pp\b|percent\b)?/.exec(s);
  if (!m) return null;
  const text = m[1]!.replace(',', '.');
  const exact = Decimal.parse(text);
  const value = Number(text);
  if (!exact || !Number.isFinite(value)) return null;
  const decimals = /\.(\d+)/.exec(text)?.[1]?.length ?? 0;
  return { value, exact, text, decimals, percentSign: m[2] === '%' || m[2] === 'percent' };
}

const HUNDRED = Decimal.of(100);
const ONE = Decimal.of(1);

function accuracyOf(exact: Decimal, percentSign: boolean, raw: string, decimals: number): Accuracy | null {
  if (exact.units < 0n) return null;
  if (percentSign)
    return exact.le(HUNDRED) ? { percent: exact.toNumber(), exact, read: 'percent', raw, decimals } : null;
  if (exact.le(ONE)) {
    const p = exact.shift(2);
    return { percent: p.toNumber(), exact: p, read: 'fraction', raw, decimals };
  }
  if (exact.le(HUNDRED)) return { percent: exact.toNumber(), exact, read: 'percent', raw, decimals };
  return null;
}

/**
 * Reads an accuracy written as a percent ("82.8%", "82.8") or a fraction ("0.828").
 * A value without a % sign and at most 1 is a fraction. Out-of-range values give null.
 * A JSON or pickle number is read through its shortest text, so 0.878 is 87.8 exactly.
 */
export function parseAccuracy(s: string | number): Accuracy | null {
  if (typeof s === 'number') {
    if (!Number.isFinite(s)) return null;
    const exact = Decimal.fromNumber(s);
    return accuracyOf(exact, false, String(s), Math.max(0, exact.scale));
  }
  const n = firstNumber(s);
  if (!n) return null;
  return accuracyOf(n.exact, n.percentSign, s.trim(), n.decimals);
}

/**
 * A target given on a command line (`--target`): a plain number, a percent or a fraction at most 1
 * read by the same rule as the artifacts' accuracies (0.9 is 90 %); null for anything else.
 */
export function parseTargetValue(v: string): Accuracy | null {
  if (!/^\s*\d+(\.\d+)?\s*%?\s*$/.test(v)) return null;
  return parseAccuracy(v);
}

/** Half of the last written digit, in percent: "97.2%" → 0.05, "0.972" → 0.05. */
export function roundingTolerance(a: Accuracy): Decimal {
  // 0.5 × 10^-decimals, × 100 for a fraction.
  return Decimal.of(5).shift(-(a.decimals + 1) + (a.read === 'fraction' ? 2 : 0));
}

/** Whether two written accuracies name the same value within the rounding of the coarser one. */
export function accuraciesAgree(a: Accuracy, b: Accuracy): boolean {
  const tol = roundingTolerance(a).gt(roundingTolerance(b)) ? roundingTolerance(a) : roundingTolerance(b);
  return a.exact.sub(b.exact).abs().le(tol);
}

/** The exact percent; a fraction also shows what was written. */
export function describeAccuracy(a: Accuracy): string {
  return a.read === 'fraction' ? `${a.exact.toString()}% (read as fraction ${a.raw})` : `${a.exact.toString()}%`;
}
