import { CATEGORIES, type CheckResult, type CheckStatus } from '../checks/types.js';
import type { GateReport } from '../engine.js';
import type { GateStatus } from '../gate/evaluate.js';

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
  return CATEGORIES.map((c) => ({ title: c.title, checks: checks.filter((r) => r.category === c.id) })).filter((g) => g.checks.length > 0);
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

export function summaryLine(report: GateReport): string {
  const c = countStatuses(report.checks);
  return `Gate ${GATE_LABEL[report.gate]}: ${c.pass} passed, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.fail} failed, ${c.pending} pending`;
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
