import type { CheckResult, Metrics } from '../../src/checks/types.js';

/** Metrics that are measurements of this machine at this moment (latency, throughput), not facts about the run. */
export function isTimingMetric(key: string): boolean {
  return key !== 'p95_budget_ms' && /(_ms|_rps|_sps)$/.test(key);
}

/** What must be equal between a worker's result and `readiness check`'s: status, stable metrics, evidence (timed checks aside). */
export function comparable(results: readonly CheckResult[]) {
  return results.map((r) => {
    const metrics: Metrics = {};
    for (const [k, v] of Object.entries(r.metrics)) if (!isTimingMetric(k)) metrics[k] = v;
    return {
      id: r.id,
      status: r.status,
      security: r.security ?? false,
      metrics,
      evidence: r.id === 'export.inference' ? null : r.evidence.map(untimed),
      remediation: r.remediation,
    };
  });
}

/** Evidence with durations blanked ("loaded in 32 ms" → "loaded in <t> ms"). */
export function untimed(line: string): string {
  return line.replace(/\d+(?:\.\d+)? ?(ms|s)\b/g, '<t> $1');
}
