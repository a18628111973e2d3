/**
 * What an evaluation waits for, and whom: the pure part of `/readiness list` and App Home. A
 * required role waits while it has fewer than its min_approvals distinct approvals and no
 * rejection; a person may give one of those approvals when they are an approver of the role, did
 * not sign it yet, did not sign another role (one role per person), and did not request the
 * evaluation (unless the policy allows self-approval).
 */
import type { GateReport } from '../engine.js';
import { minApprovalsFor, type RoleTally, signoffsOpen, tallyRole } from '../gate/evaluate.js';
import type { SignoffRole } from '../policy/schema.js';
import type { EvaluationState } from '../store/types.js';
import { waivedCheckIds } from '../waivers/waivers.js';

/** Required roles that still need approvals, with where each stands. */
export function pendingRoles(report: GateReport): RoleTally[] {
  const policy = report.policy.effective;
  return policy.signoff.required_roles
    .map((role) => tallyRole(report.signoffs, report.digest, role, minApprovalsFor(policy, role)))
    .filter((t) => !t.approved && t.rejections.length === 0);
}

/** Approve buttons are live for this state (no automated check failing, unless waived, or pending). */
export function signoffIsOpen(report: GateReport): boolean {
  return signoffsOpen(report.checks, waivedCheckIds(report.waivers));
}

/** The roles of a pending, open-for-sign-off evaluation that `user` (an approver of `userRoles`) can sign now. */
export function rolesAwaiting(
  state: EvaluationState,
  report: GateReport,
  user: string,
  userRoles: readonly SignoffRole[],
  onePerPerson: boolean,
): SignoffRole[] {
  const ev = state.evaluation;
  if (ev.superseded_by || report.gate !== 'pending' || !signoffIsOpen(report)) return [];
  if (ev.requester === user && !ev.policy.policy.signoff.allow_self_approval) return [];
  const mine = report.signoffs.filter((s) => s.digest === report.digest && !s.expired && s.user === user);
  return pendingRoles(report)
    .filter((t) => userRoles.includes(t.role))
    .filter((t) => !mine.some((s) => s.role === t.role))
    .filter((t) => !onePerPerson || !mine.some((s) => s.role !== t.role))
    .map((t) => t.role);
}
