import type { CheckResult } from '../checks/types.js';
import type { GateReport } from '../engine.js';
import { waivedCheckIds, waiverUntil } from '../waivers/waivers.js';
import { evidenceLocation, heavySkipped, overrideLines } from './common.js';

// XML 1.0 forbids most control characters even when escaped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML 1.0 forbids
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

export const JUNIT_WARNINGS_AS = ['failures', 'skipped', 'passed'] as const;
export type JunitWarningsAs = (typeof JUNIT_WARNINGS_AS)[number];

export interface JunitOptions {
  /** How a ⚠️ warning is reported: a <failure type="warning">, a <skipped>, or a pass with its text in <system-out>. */
  warningsAs?: JunitWarningsAs;
  /**
   * Adds `file` and `line` attributes to each testcase (read by GitLab and the GitHub JUnit
   * annotators). Neither the Jenkins xunit XSD nor Surefire's allows them, so they are opt-in.
   */
  fileAttributes?: boolean;
}

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function bodyOf(r: CheckResult, warning: boolean): string {
  const loc = evidenceLocation(r.evidence);
  return [
    ...(warning ? [`WARNING (${r.id}): ${r.title}`] : []),
    ...r.evidence,
    ...(loc ? [`at ${loc.file}${loc.line ? `:${loc.line}` : ''}`] : []),
    ...(r.remediation && r.status !== 'pass' ? [`Remediation: ${r.remediation}`] : []),
  ].join('\n');
}

type Kind = 'failure' | 'error' | 'skipped' | 'passed';

function kindOf(r: CheckResult, warningsAs: JunitWarningsAs): Kind {
  if (r.status === 'fail') return 'failure';
  if (r.status === 'error') return 'error';
  if (r.status === 'pending' || r.status === 'running' || r.status === 'skipped') return 'skipped';
  if (r.status === 'warn')
    return warningsAs === 'failures' ? 'failure' : warningsAs === 'skipped' ? 'skipped' : 'passed';
  return 'passed';
}

/**
 * JUnit XML that validates against both the Jenkins xunit plugin's junit-10.xsd and Maven
 * Surefire's surefire-test-report.xsd (test/report/schemas): a single <testsuite> root (Surefire
 * has no <testsuites>), properties first, then one testcase per check named by its stable id and
 * classed by category; child elements in Surefire's order (failure, skipped, error, system-out).
 */
export function renderJunit(report: GateReport, opts: JunitOptions = {}): string {
  const warningsAs = opts.warningsAs ?? 'failures';
  const counts = { tests: report.checks.length, failures: 0, errors: 0, skipped: 0 };
  const waivedIds = waivedCheckIds(report.waivers);
  const cases = report.checks.map((r) => {
    const waiver = waivedIds.has(r.id) ? report.waivers.find((w) => w.check === r.id) : undefined;
    if (waiver && r.status === 'fail') {
      // a waived failure passes the gate: a passing testcase whose output says who accepted it, why and until when
      const text = [
        `WAIVED (${r.id}): ${r.title}`,
        `accepted with stakeholder approval until ${waiverUntil(waiver.expires_at)} by ${waiver.approvals.map((a) => `${a.user} (${a.role})`).join(', ')}; requested by ${waiver.requested_by}: ${waiver.reason}`,
        bodyOf(r, false),
      ].join('\n');
      const a = attrs({ name: r.id, classname: `readiness.${r.category}`, time: seconds(r.duration_ms) });
      return `  <testcase${a}><system-out>${xmlEscape(text)}</system-out></testcase>`;
    }
    const kind = kindOf(r, warningsAs);
    const warning = r.status === 'warn';
    const body = bodyOf(r, warning);
    const first = r.evidence[0] ?? r.status;
    const loc = opts.fileAttributes ? evidenceLocation(r.evidence) : null;
    const inner: string[] = [];
    if (kind === 'failure') {
      counts.failures++;
      const type = warning ? 'warning' : r.security ? 'security' : 'check';
      inner.push(
        `<failure${attrs({ message: `${warning ? 'warning: ' : ''}${first}`, type })}>${xmlEscape(body)}</failure>`,
      );
    } else if (kind === 'error') {
      counts.errors++;
      inner.push(
        `<error${attrs({ message: first, type: r.security ? 'security' : 'error' })}>${xmlEscape(body)}</error>`,
      );
    } else if (kind === 'skipped') {
      counts.skipped++;
      inner.push(`<skipped${attrs({ message: `${warning ? 'warning' : r.status}: ${first}` })}/>`);
    }
    // The evidence is always in <system-out>, so CI summaries show warnings and passes alike.
    inner.push(`<system-out>${xmlEscape(body)}</system-out>`);
    const a = attrs({
      name: r.id,
      classname: `readiness.${r.category}`,
      time: seconds(r.duration_ms),
      ...(loc ? { file: loc.file, line: loc.line } : {}),
    });
    return `  <testcase${a}>${inner.join('')}</testcase>`;
  });
  const warned = report.checks.filter((c) => c.status === 'warn').map((c) => c.id);
  const properties: Record<string, string> = {
    run: report.run,
    model_name: report.model_name,
    gate: report.gate,
    digest: report.digest,
    policy: report.policy.name,
    policy_digest: report.policy.digest,
    overrides: overrideLines(report).join('; '),
    warnings: warned.join(', '),
    waivers: report.waivers
      .filter((w) => w.standing === 'effective')
      .map((w) => `${w.check} until ${waiverUntil(w.expires_at)}`)
      .join(', '),
    warnings_as: warningsAs,
    heavy_skipped: heavySkipped(report).join(', '),
    blocking: report.blocking.join(', '),
    outstanding: report.outstanding.join(', '),
  };
  const total = seconds(report.checks.reduce((a, r) => a + r.duration_ms, 0));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite${attrs({ name: 'readiness-gate', tests: counts.tests, failures: counts.failures, errors: counts.errors, skipped: counts.skipped, time: total, timestamp: report.generated_at })}>`,
    `  <properties>${Object.entries(properties)
      .map(([name, value]) => `<property${attrs({ name, value })}/>`)
      .join('')}</properties>`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}
