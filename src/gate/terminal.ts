import type { CheckResult } from '../checks/types.js';
import type { WaiverRecord } from '../waivers/waivers.js';
import type { GateStatus } from './evaluate.js';

const FINAL = new Set<CheckResult['status']>(['pass', 'warn', 'fail', 'error', 'skipped']);

/** What the rules read of an evaluation's state. */
export interface TerminalInput {
  evaluation: { superseded_by: string | null; digest?: string; policy?: { digest: string } };
  gate: GateStatus;
  checks: readonly Pick<CheckResult, 'category' | 'status'>[];
  /** The pair's waivers, expiry marked by the store's clock (absent: none). */
  waivers?: readonly Pick<WaiverRecord, 'status' | 'expired' | 'digest' | 'policy_digest'>[] | undefined;
}

/**
 * True once the gate's outcome is settled, so it can be announced: superseded, passed, or blocked
 * with every check final. Only a click or new artifacts change it now, or the clock (a waiver
 * expiring: see isTerminal).
 */
export function isSettled(state: TerminalInput): boolean {
  if (state.evaluation.superseded_by) return true;
  if (state.gate === 'passed') return true;
  return state.gate === 'blocked' && state.checks.every((c) => c.category === 'signoff' || FINAL.has(c.status));
}

/**
 * True once nothing changes without a click or new artifacts: settled, and no waiver of these
 * artifacts is still to expire while it counts or waits for approval (its expiry changes the gate
 * or what the message shows, so the evaluation is watched until then). Superseded is always terminal.
 */
export function isTerminal(state: TerminalInput): boolean {
  if (state.evaluation.superseded_by) return true;
  return isSettled(state) && !hasRunningWaiver(state);
}

/** A waiver bound to the evaluation's digests, approved or awaiting approval, not expired yet. */
function hasRunningWaiver(state: TerminalInput): boolean {
  const { digest, policy } = state.evaluation;
  return (state.waivers ?? []).some(
    (w) =>
      !w.expired &&
      (w.status === 'approved' || w.status === 'requested') &&
      (digest === undefined || w.digest === digest) &&
      (policy === undefined || w.policy_digest === policy.digest),
  );
}
