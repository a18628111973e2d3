/** Median of measurements (the upper middle for even counts: benchmarks use odd round counts). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
