import { AUTOMATED_CHECKS } from '../checks/registry.js';
import { CATEGORIES, type CheckResult, type CheckStatus } from '../checks/types.js';
import type { GateReport } from '../engine.js';
import type { GateStatus } from '../gate/evaluate.js';
import { describeOverride } from '../policy/authority.js';
import { waivedCheckIds } from '../waivers/waivers.js';

export const STATUS_ICON: Record<CheckStatus, string> = {
  pass: '✅',
  warn: '⚠️',
  fail: '❌',
  error: '❌',
  pending: '⏳',
  running: '⏳',
  skipped: '⏳',
};

export const GATE_LABEL: Record<GateStatus, string> = {
  passed: '✅ PASSED',
  pending: '⏳ PENDING',
  blocked: '❌ BLOCKED',
};

export function groupByCategory(checks: readonly CheckResult[]): { title: string; checks: CheckResult[] }[] {
  return CATEGORIES.map((c) => ({ title: c.title, checks: checks.filter((r) => r.category === c.id) })).filter(
    (g) => g.checks.length > 0,
  );
}

export interface Counts {
  pass: number;
  warn: number;
  fail: number;
  pending: number;
}

export function countStatuses(checks: readonly CheckResult[]): Counts {
  const c: Counts = { pass: 0, warn: 0, fail: 0, pending: 0 };
  for (const r of checks) {
    if (r.status === 'pass') c.pass++;
    else if (r.status === 'warn') c.warn++;
    else if (r.status === 'fail' || r.status === 'error') c.fail++;
    else c.pending++;
  }
  return c;
}

export interface GateCounts {
  /** Automated checks: pass, warn, fail (fail or error), outstanding (pending, running or skipped). */
  checks: { pass: number; warn: number; fail: number; outstanding: number; waived: number };
  /** Required sign-off roles: approved, rejected, still pending. */
  signoffs: { approved: string[]; rejected: string[]; pending: string[] };
}

const ROLE_OF = (id: string) => id.replace(/^signoff\./, '');

/** The counts behind the gate's own reason: automated checks apart from sign-offs. */
export function gateCounts(
  report: Pick<GateReport, 'checks' | 'blocking' | 'outstanding'> & Partial<Pick<GateReport, 'waivers'>>,
): GateCounts {
  const waived = waivedCheckIds(report.waivers ?? []);
  const automated = report.checks.filter((r) => r.category !== 'signoff');
  const c = countStatuses(automated.filter((r) => !waived.has(r.id) || r.status !== 'fail'));
  return {
    checks: {
      pass: c.pass,
      warn: c.warn,
      fail: c.fail,
      outstanding: c.pending,
      waived: automated.filter((r) => waived.has(r.id) && r.status === 'fail').length,
    },
    signoffs: {
      approved: report.checks.filter((r) => r.category === 'signoff' && r.status === 'pass').map((r) => ROLE_OF(r.id)),
      rejected: report.blocking.filter((id) => id.startsWith('signoff.')).map(ROLE_OF),
      pending: report.outstanding.filter((id) => id.startsWith('signoff.')).map(ROLE_OF),
    },
  };
}

/** Why the gate is where it is, in the words shared by the CLI and Slack. */
export function gateReason(
  report: Pick<GateReport, 'gate' | 'checks' | 'blocking' | 'outstanding'> & Partial<Pick<GateReport, 'waivers'>>,
): string {
  const k = gateCounts(report);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const checks = `${k.checks.pass} passed, ${plural(k.checks.warn, 'warning')}, ${k.checks.fail} failed${k.checks.waived ? `, ${k.checks.waived} waived` : ''}${k.checks.outstanding ? `, ${k.checks.outstanding} not run yet` : ''}`;
  const parts: string[] = [checks];
  if (k.signoffs.rejected.length) parts.push(`rejected by ${k.signoffs.rejected.join(', ')}`);
  if (k.signoffs.pending.length) parts.push(`sign-offs pending: ${k.signoffs.pending.join(', ')}`);
  else if (k.signoffs.approved.length && !k.signoffs.rejected.length)
    parts.push(`signed off by ${k.signoffs.approved.join(', ')}`);
  return parts.join('; ');
}

export function summaryLine(report: GateReport): string {
  return `Gate ${GATE_LABEL[report.gate]}: ${gateReason(report)}`;
}

/** The run's own overrides of the team policy, one line each (empty when it has none). */
export function overrideLines(report: GateReport): string[] {
  return report.policy.applied.map(describeOverride);
}

/** The test accuracy shown in the Final Sign-Off block, from test.target's metrics. */
export function signOffFacts(report: GateReport): { testAccuracy: string; targetMet: string } {
  const t = report.checks.find((c) => c.id === 'test.target');
  const acc = t?.metrics.test_accuracy;
  return {
    testAccuracy: typeof acc === 'number' ? `${Number(acc.toFixed(2))}%` : 'unknown',
    targetMet: t?.status === 'pass' ? 'Yes' : t?.status === 'fail' ? 'No' : 'unknown',
  };
}

/** Heavy checks (ONNX parity, latency) that did not run: `--skip-heavy`, or not yet on a worker. */
export function heavySkipped(report: Pick<GateReport, 'checks'>): string[] {
  const heavy = new Set(AUTOMATED_CHECKS.filter((d) => d.heavy).map((d) => d.id));
  return report.checks.filter((c) => heavy.has(c.id) && c.status === 'skipped').map((c) => c.id);
}

// A run-relative file the evidence names, with a line when it gives one: "path:34", "(path:10)",
// "path line 10", `path "Section" (line 133)`.
const FILE_REF =
  /((?:[\w.-]+\/)*[\w-][\w.-]*\.(?:md|json|log|txt|ya?ml|pt|pth|onnx|png|npy|npz|toml|cfg))(?::(\d+)|(?:\s+"[^"\n]*")?\s+\(?line (\d+))?/g;

/** The first file the evidence names (preferring one given with a line), for CI annotations. */
export function evidenceLocation(evidence: readonly string[]): { file: string; line?: number } | null {
  let first: { file: string; line?: number } | null = null;
  for (const e of evidence) {
    for (const m of e.matchAll(FILE_REF)) {
      const line = m[2] ?? m[3];
      if (line) return { file: m[1]!, line: Number(line) };
      first ??= { file: m[1]! };
    }
  }
  return first;
}
