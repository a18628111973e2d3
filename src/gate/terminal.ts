import type { CheckResult } from '../checks/types.js';
import type { GateStatus } from './evaluate.js';

const FINAL = new Set<CheckResult['status']>(['pass', 'warn', 'fail', 'error', 'skipped']);

/** What the rule reads of an evaluation's state. */
export interface TerminalInput {
  evaluation: { superseded_by: string | null };
  gate: GateStatus;
  checks: readonly Pick<CheckResult, 'category' | 'status'>[];
}

/** True once nothing can change any more: superseded, passed, or blocked with every check final. */
export function isTerminal(state: TerminalInput): boolean {
  if (state.evaluation.superseded_by) return true;
  if (state.gate === 'passed') return true;
  return state.gate === 'blocked' && state.checks.every((c) => c.category === 'signoff' || FINAL.has(c.status));
}
