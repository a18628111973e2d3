import type { GateReport } from '../engine.js';

// XML 1.0 forbids most control characters even when escaped.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function xmlEscape(s: string): string {
  return s
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** JUnit XML: one testcase per check; fail → <failure>, error → <error>, pending/skipped → <skipped>. */
export function renderJunit(report: GateReport): string {
  const c = { tests: report.checks.length, failures: 0, errors: 0, skipped: 0 };
  const cases = report.checks.map((r) => {
    const seconds = (r.duration_ms / 1000).toFixed(3);
    const body = [...r.evidence, ...(r.remediation ? [`Remediation: ${r.remediation}`] : [])].join('\n');
    let inner = '';
    if (r.status === 'fail') {
      c.failures++;
      inner = `<failure message="${xmlEscape(r.evidence[0] ?? 'failed')}" type="${r.security ? 'security' : 'check'}">${xmlEscape(body)}</failure>`;
    } else if (r.status === 'error') {
      c.errors++;
      inner = `<error message="${xmlEscape(r.evidence[0] ?? 'error')}" type="error">${xmlEscape(body)}</error>`;
    } else if (r.status === 'pending' || r.status === 'running' || r.status === 'skipped') {
      c.skipped++;
      inner = `<skipped message="${xmlEscape(`${r.status}: ${r.evidence[0] ?? ''}`)}"/>`;
    } else {
      inner = `<system-out>${xmlEscape(body)}</system-out>`;
    }
    return `    <testcase classname="readiness.${xmlEscape(r.category)}" name="${xmlEscape(`${r.id}: ${r.title}`)}" time="${seconds}">${inner}</testcase>`;
  });
  const total = (report.checks.reduce((a, r) => a + r.duration_ms, 0) / 1000).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="readiness-gate" tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="${total}">`,
    `  <testsuite name="${xmlEscape(`readiness ${report.model_name}`)}" tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="${total}" timestamp="${report.generated_at}">`,
    `    <properties><property name="gate" value="${report.gate}"/><property name="digest" value="${report.digest}"/><property name="policy_digest" value="${report.policy.digest}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
