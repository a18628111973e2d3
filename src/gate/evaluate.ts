import type { CheckResult } from '../checks/types.js';
import type { SignoffRole } from '../policy/schema.js';

export type GateStatus = 'blocked' | 'pending' | 'passed';

export interface SignoffRecord {
  role: SignoffRole;
  decision: 'approved' | 'rejected';
  /** Slack user id (or CLI identity) of the signer. */
  user: string;
  /** ISO timestamp. */
  at: string;
  reason?: string | undefined;
  /** Artifact digest the sign-off was given for. */
  digest: string;
  /** Policy digest the sign-off was given for (absent on records made before sign-offs were bound to it). */
  policy_digest?: string | undefined;
  /** The evaluation it was given on (absent on records made before this was recorded); others inherit it. */
  evaluation_id?: string | undefined;
  /** When an approval stops counting (signoff.max_age_days after `at`); set by the store when it reads the record. */
  expires_at?: string | undefined;
  /** The approval is older than signoff.max_age_days: shown, but it no longer counts. */
  expired?: boolean | undefined;
  /**
   * Why an inherited approval does not count for the evaluation reading it (set by the store when
   * it reads the record): `self_approval` when its signer is this evaluation's requester and the
   * policy does not allow self-approval.
   */
  not_counted?: 'self_approval' | undefined;
}

/** Sign-offs that count for `digest`: given for it, not an expired approval, not ruled out for this evaluation. */
export function currentSignoffs(signoffs: readonly SignoffRecord[], digest: string): SignoffRecord[] {
  return signoffs.filter((s) => s.digest === digest && !s.expired && !s.not_counted);
}

/**
 * Marks the approvals this evaluation's requester gave on another evaluation of the same
 * artifacts and policy (whose requester was someone else) as not counting, unless the policy
 * allows self-approval: inheriting sign-offs never lets a requester approve their own
 * evaluation. Rejections stay: they only ever tighten the gate. Pure.
 */
export function withoutSelfApprovals(
  records: readonly SignoffRecord[],
  evaluation: { id: string; requester: string },
  allowSelfApproval: boolean,
): SignoffRecord[] {
  if (allowSelfApproval) return [...records];
  return records.map((s) =>
    s.decision === 'approved' && s.user === evaluation.requester && s.evaluation_id !== evaluation.id
      ? { ...s, not_counted: 'self_approval' as const }
      : s,
  );
}

/** Marks approvals older than `maxAgeDays` at `now` as expired (rejections never expire). Pure. */
export function withExpiry(records: readonly SignoffRecord[], maxAgeDays: number, now: Date): SignoffRecord[] {
  return records.map((s) => {
    if (s.decision !== 'approved') return s;
    const at = Date.parse(s.at);
    if (Number.isNaN(at)) return s;
    const expires = new Date(at + maxAgeDays * 86_400_000);
    return { ...s, expires_at: expires.toISOString(), expired: now.getTime() >= expires.getTime() };
  });
}

/** Distinct approvals per role (the policy's signoff.min_approvals); a role not listed needs one. */
export type MinApprovals = { [R in SignoffRole]?: number | undefined };

/** Distinct approvals a role needs under `policy` (signoff.min_approvals, default 1). */
export function minApprovalsFor(
  policy: { signoff: { min_approvals?: MinApprovals | undefined } },
  role: SignoffRole,
): number {
  return policy.signoff.min_approvals?.[role] ?? 1;
}

/** Where one role stands for `digest`: who approved (each person once), who rejected, and whether it is complete. */
export interface RoleTally {
  role: SignoffRole;
  /** Current approvals, one per person, oldest first. */
  approvals: SignoffRecord[];
  rejections: SignoffRecord[];
  needed: number;
  /** Enough distinct approvals and no rejection. */
  approved: boolean;
}

export function tallyRole(
  signoffs: readonly SignoffRecord[],
  digest: string,
  role: SignoffRole,
  needed: number,
): RoleTally {
  const current = currentSignoffs(signoffs, digest).filter((s) => s.role === role);
  const seen = new Set<string>();
  const approvals: SignoffRecord[] = [];
  for (const s of [...current].sort((a, b) => a.at.localeCompare(b.at) || a.user.localeCompare(b.user))) {
    if (s.decision !== 'approved' || seen.has(s.user)) continue;
    seen.add(s.user);
    approvals.push(s);
  }
  const rejections = current.filter((s) => s.decision === 'rejected');
  return { role, approvals, rejections, needed, approved: rejections.length === 0 && approvals.length >= needed };
}

export interface GateVerdict {
  status: GateStatus;
  /** Check ids (and roles) that block the gate. */
  blocking: string[];
  /** Check ids (and roles) still outstanding. */
  outstanding: string[];
}

const BLOCKING = new Set(['fail', 'error']);
const PASSING = new Set(['pass', 'warn']);

/** Automated checks are every check but the sign-offs, which come from `signoffs`. */
export function isAutomated(check: Pick<CheckResult, 'category'>): boolean {
  return check.category !== 'signoff';
}

/**
 * The gate rules of the design: BLOCKED if any automated check fails/errors (and is not
 * waived) or any role rejected; PENDING while any automated check is not yet passing or a
 * required role has not approved (with signoff.min_approvals distinct approvers); PASSED
 * otherwise. Sign-offs given for another digest do not count.
 */
export function evaluateGate(input: {
  checks: readonly CheckResult[];
  signoffs: readonly SignoffRecord[];
  requiredRoles: readonly SignoffRole[];
  /** Distinct approvals per role (default 1). */
  minApprovals?: MinApprovals | undefined;
  digest: string;
  /** Failing checks accepted by an effective waiver (src/waivers): they count as passing. */
  waived?: ReadonlySet<string>;
}): GateVerdict {
  const blocking: string[] = [];
  const outstanding: string[] = [];
  for (const c of input.checks) {
    if (!isAutomated(c)) continue;
    if (isWaived(c, input.waived)) continue;
    if (BLOCKING.has(c.status)) blocking.push(c.id);
    else if (!PASSING.has(c.status)) outstanding.push(c.id);
  }
  const current = currentSignoffs(input.signoffs, input.digest);
  for (const s of current) {
    if (s.decision === 'rejected') blocking.push(`signoff.${s.role}`);
  }
  for (const role of input.requiredRoles) {
    const t = tallyRole(current, input.digest, role, input.minApprovals?.[role] ?? 1);
    if (!t.approved && t.rejections.length === 0) outstanding.push(`signoff.${role}`);
  }
  const status: GateStatus = blocking.length > 0 ? 'blocked' : outstanding.length > 0 ? 'pending' : 'passed';
  return { status, blocking, outstanding };
}

/** A failing check (never an error, never a security finding) that an effective waiver accepts. */
export function isWaived(c: Pick<CheckResult, 'id' | 'status' | 'security'>, waived?: ReadonlySet<string>): boolean {
  return waived !== undefined && c.status === 'fail' && !c.security && waived.has(c.id);
}

/** Approve buttons are live only once no automated check is failing (unless waived) or pending. */
export function signoffsOpen(checks: readonly CheckResult[], waived?: ReadonlySet<string>): boolean {
  return checks.filter(isAutomated).every((c) => PASSING.has(c.status) || isWaived(c, waived));
}
