import type { GateReport } from '../engine.js';
import { groupByCategory, STATUS_ICON, summaryLine } from './common.js';

/** The checklist a person reads in a terminal or CI log. */
export function renderText(report: GateReport): string {
  const out: string[] = [];
  out.push(`Production readiness: ${report.model_name}`);
  out.push(`Run: ${report.run}`);
  out.push(`Policy: ${report.policy.name} (target ${report.policy.effective.target_accuracy}%, sha256 ${report.policy.digest.slice(0, 12)}; from ${report.policy.sources.join(' ← ')})`);
  out.push(`Artifacts: ${report.manifest.entries.length} files, digest ${report.digest.slice(0, 12)}`);
  for (const g of groupByCategory(report.checks)) {
    out.push('', `== ${g.title} ==`);
    for (const c of g.checks) {
      const security = c.security ? ' [SECURITY]' : '';
      out.push(`${STATUS_ICON[c.status]} ${c.title} (${c.id})${security}`);
      for (const e of c.evidence) out.push(`     ${e}`);
      if (c.remediation && (c.status === 'fail' || c.status === 'error' || c.status === 'warn')) out.push(`     → ${c.remediation}`);
    }
  }
  out.push('', summaryLine(report));
  if (report.blocking.length) out.push(`Blocking: ${report.blocking.join(', ')}`);
  if (report.outstanding.length) out.push(`Outstanding: ${report.outstanding.join(', ')}`);
  return `${out.join('\n')}\n`;
}
