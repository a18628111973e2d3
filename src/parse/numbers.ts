/** How an accuracy was written: the gate normalises to percent and says which it read. */
export interface Accuracy {
  /** Normalised to percent (0–100). */
  percent: number;
  read: 'percent' | 'fraction';
  /** The text it came from. */
  raw: string;
  /** Decimals as written, for "agrees within rounding" comparisons. */
  decimals: number;
}

/** First number in a string ("82.8%", "0.828", "82.8 % (↑1.2)"), with its decimals. */
export function firstNumber(s: string): { value: number; text: string; decimals: number; percentSign: boolean } | null {
  const m = /(-?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)\s*(%|pp\b|percent\b)?/.exec(s);
  if (!m) return null;
  const text = m[1]!.replace(',', '.');
  const value = Number(text);
  if (!Number.isFinite(value)) return null;
  const decimals = /\.(\d+)/.exec(text)?.[1]?.length ?? 0;
  return { value, text, decimals, percentSign: m[2] === '%' || m[2] === 'percent' };
}

/**
 * Reads an accuracy written as a percent ("82.8%", "82.8") or a fraction ("0.828").
 * A value without a % sign and at most 1 is a fraction. Out-of-range values give null.
 */
export function parseAccuracy(s: string | number): Accuracy | null {
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0 || s > 100) return null;
    const text = String(s);
    const decimals = /\.(\d+)/.exec(text)?.[1]?.length ?? 0;
    return s <= 1
      ? { percent: s * 100, read: 'fraction', raw: text, decimals }
      : { percent: s, read: 'percent', raw: text, decimals };
  }
  const n = firstNumber(s);
  if (!n || n.value < 0) return null;
  if (n.percentSign) {
    return n.value <= 100 ? { percent: n.value, read: 'percent', raw: s.trim(), decimals: n.decimals } : null;
  }
  if (n.value <= 1) return { percent: n.value * 100, read: 'fraction', raw: s.trim(), decimals: n.decimals };
  if (n.value <= 100) return { percent: n.value, read: 'percent', raw: s.trim(), decimals: n.decimals };
  return null;
}

/** Half of the last written digit, in percent: "97.2%" → 0.05, "0.972" → 0.05. */
export function roundingTolerance(a: Accuracy): number {
  const unit = a.read === 'fraction' ? 100 : 1;
  return (0.5 * unit) / 10 ** a.decimals;
}

export function describeAccuracy(a: Accuracy): string {
  return a.read === 'fraction' ? `${trim(a.percent)}% (read as fraction ${a.raw})` : `${trim(a.percent)}%`;
}

function trim(n: number): string {
  return String(Number(n.toFixed(3)));
}
