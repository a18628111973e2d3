import type { GateReport } from '../engine.js';
import { minApprovalsFor, tallyRole } from '../gate/evaluate.js';
import { SIGNOFF_ROLES } from '../policy/schema.js';
import { type WaiverView, waiverUntil } from '../waivers/waivers.js';
import { GATE_LABEL, groupByCategory, overrideLines, STATUS_ICON, signOffFacts, summaryLine } from './common.js';

const ROLE_LABEL = { technical: 'Technical Lead', product: 'Product Owner', compliance: 'Compliance' } as const;

function mdInline(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/([\\`*_[\]<>|])/g, '\\$1');
}

/** Who asked, who approved, why and until when: one waiver in one line. */
function waiverSentence(w: WaiverView): string {
  const by = w.approvals.map((a) => `<@${a.user}> (${ROLE_LABEL[a.role]}, ${a.at.slice(0, 10)})`).join(', ');
  return `requested by <@${w.requested_by}> on ${w.requested_at.slice(0, 10)}, approved by ${by || 'nobody yet'}, until ${waiverUntil(w.expires_at)}: “${mdInline(w.reason)}”${w.rejection ? `; rejected by <@${w.rejection.user}> (${ROLE_LABEL[w.rejection.role]}): “${mdInline(w.rejection.reason)}”` : ''}`;
}

/** The final report: the checklist with evidence, the manifest, and the Final Sign-Off block. */
export function renderMarkdown(report: GateReport): string {
  const out: string[] = [];
  out.push(`# Production Readiness — ${mdInline(report.model_name)}`, '');
  out.push(`**Gate**: ${GATE_LABEL[report.gate]}  `);
  out.push(`**Run**: \`${report.run}\`  `);
  out.push(
    `**Policy**: ${mdInline(report.policy.name)} (target ${report.policy.effective.target_accuracy}%, sha256 \`${report.policy.digest}\`)  `,
  );
  const overrides = overrideLines(report);
  if (overrides.length) out.push(`**Run overrides of the team policy**: ${overrides.map(mdInline).join('; ')}  `);
  out.push(`**Artifact digest**: \`${report.digest}\`  `);
  out.push(`**Generated**: ${report.generated_at}`, '');
  for (const g of groupByCategory(report.checks)) {
    out.push(`## ${g.title}`, '');
    for (const c of g.checks) {
      const w = report.waivers.find((x) => x.check === c.id && x.standing === 'effective');
      const box = c.status === 'pass' || c.status === 'warn' || (w && c.status === 'fail') ? '[x]' : '[ ]';
      if (w && c.status === 'fail') {
        out.push(`- ${box} ⚠️ WAIVED **${mdInline(c.title)}** (\`${c.id}\`, fail, waived): ${waiverSentence(w)}`);
      } else
        out.push(
          `- ${box} ${STATUS_ICON[c.status]} **${mdInline(c.title)}** (\`${c.id}\`, ${c.status}${c.security ? ', security finding' : ''})`,
        );
      const other = report.waivers.find((x) => x.check === c.id && x.standing !== 'effective');
      if (other)
        out.push(
          `  - *Waiver ${other.standing}*: ${waiverSentence(other)}${other.void_reason ? ` (${mdInline(other.void_reason)})` : ''}`,
        );
      for (const e of c.evidence) out.push(`  - ${mdInline(e)}`);
      if (c.remediation && c.status !== 'pass') out.push(`  - *If unchecked*: ${mdInline(c.remediation)}`);
    }
    out.push('');
  }
  out.push(`**${summaryLine(report)}**`, '');
  out.push('## Artifact Manifest', '', '| File | Size | sha256 |', '|---|---:|---|');
  for (const e of report.manifest.entries) out.push(`| \`${e.path}\` | ${e.size} | \`${e.sha256}\` |`);
  out.push('');
  const facts = signOffFacts(report);
  out.push('## Final Sign-Off', '');
  out.push(`**Model Name**: ${mdInline(report.model_name)}  `);
  out.push(`**Test Accuracy**: ${facts.testAccuracy}  `);
  out.push(`**Target Met**: ${facts.targetMet}  `);
  out.push('**Deployment Approved By**:');
  for (const role of SIGNOFF_ROLES) {
    const t = tallyRole(report.signoffs, report.digest, role, minApprovalsFor(report.policy.effective, role));
    const required = report.policy.effective.signoff.required_roles.includes(role);
    const signed = [...t.rejections, ...t.approvals].map(
      (s) =>
        `${s.decision === 'approved' ? '' : 'REJECTED by '}<@${s.user}>, ${s.at.slice(0, 10)}${s.reason ? ` (${mdInline(s.reason)})` : ''}`,
    );
    const count = t.needed > 1 ? ` (${t.approvals.length} of ${t.needed} approvals)` : '';
    const who = signed.length > 0 ? `${signed.join('; ')}${count}` : required ? `_pending_${count}` : '_not required_';
    out.push(`- ${ROLE_LABEL[role]}: ${who}`);
  }
  const waived = report.waivers.filter((w) => w.standing === 'effective');
  if (waived.length > 0) {
    out.push('', '**Accepted with stakeholder approval (waivers)**:');
    for (const w of waived) {
      const title = report.checks.find((c) => c.id === w.check)?.title ?? w.check;
      out.push(`- ⚠️ WAIVED ${mdInline(title)} (\`${w.check}\`): ${waiverSentence(w)}`);
    }
  }
  out.push('', `**Deployment Date**: ${report.gate === 'passed' ? '_to be scheduled_' : '_not approved_'}`, '');
  return out.join('\n');
}
