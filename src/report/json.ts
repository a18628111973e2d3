import type { GateReport } from '../engine.js';

/** Machine-readable result: `{ run, gate, digest, policy, checks: [...] , ... }`. */
export function renderJson(report: GateReport): string {
  return `${JSON.stringify(
    {
      run: report.run,
      model_name: report.model_name,
      gate: report.gate,
      digest: report.digest,
      policy: report.policy,
      checks: report.checks.map((c) => ({
        id: c.id,
        category: c.category,
        title: c.title,
        status: c.status,
        evidence: c.evidence,
        metrics: c.metrics,
        remediation: c.remediation,
        duration_ms: c.duration_ms,
        ...(c.security ? { security: true } : {}),
      })),
      blocking: report.blocking,
      outstanding: report.outstanding,
      signoffs: report.signoffs,
      manifest: report.manifest,
      generated_at: report.generated_at,
    },
    null,
    2,
  )}\n`;
}
