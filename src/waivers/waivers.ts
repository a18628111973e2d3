/**
 * Waivers: the checklist's "accept with stakeholder approval (document in final_report.md)". A
 * failing automated item may be accepted when the team policy names the check under `waivers`
 * with the roles that must approve; the waiver is bound to the (artifact digest, policy digest)
 * pair, has a reason and an expiry, and counts for the gate only once every named role approved
 * it and while it has not expired. Security findings, integrity and consistency checks can never
 * be waived. Pure: no I/O.
 */
import type { CheckResult } from '../checks/types.js';
import { GateError } from '../errors.js';
import type { Policy, SignoffRole } from '../policy/schema.js';

/** The longest a waiver may run: an exception is revisited, not forgotten. */
export const MAX_WAIVER_DAYS = 90;
export const MAX_WAIVER_REASON_CHARS = 2000;

/**
 * Checks whose failure says the evidence cannot be trusted, so accepting it would accept
 * anything: the cross-checks (the same number disagrees between documents) and the provenance
 * of the exported weights. Every check of the consistency category is never waivable too.
 */
export const NEVER_WAIVABLE: Readonly<Record<string, string>> = {
  'consistency.metrics': 'a consistency check (the same number disagrees between the run’s documents)',
  'export.provenance': 'an integrity check (the exported weights must be the best checkpoint’s)',
};

export type WaiverStatus = 'requested' | 'approved' | 'rejected';

export interface WaiverApproval {
  role: SignoffRole;
  user: string;
  at: string;
}

export interface WaiverRecord {
  /** `wv-…`: no ':' (it goes into webhook delivery ids). */
  id: string;
  check: string;
  status: WaiverStatus;
  reason: string;
  requested_by: string;
  requested_at: string;
  /** When the waiver stops counting (end of the chosen day, UTC). */
  expires_at: string;
  /** Artifact digest and policy digest the waiver was requested for. */
  digest: string;
  policy_digest: string;
  /** Evaluation it was requested on (it counts for every evaluation of the same pair). */
  evaluation_id: string;
  /** Roles that must each approve (from the team policy at request time). */
  roles: SignoffRole[];
  approvals: WaiverApproval[];
  rejection: (WaiverApproval & { reason: string }) | null;
  /** When the last required role approved. */
  approved_at: string | null;
  /** Set on read by the store's clock: expires_at has passed. */
  expired?: boolean | undefined;
}

/**
 * Where a waiver stands for one report:
 *   effective  approved, not expired, bound to these digests, the check failing without a security finding
 *   awaiting   requested, some roles have not approved yet
 *   rejected   a role rejected it
 *   expired    past expires_at: the check fails again
 *   void       bound to other artifacts or another policy, or the check no longer fails as it did
 */
export type WaiverStanding = 'effective' | 'awaiting' | 'rejected' | 'expired' | 'void';

export interface WaiverView extends WaiverRecord {
  standing: WaiverStanding;
  /** Why a waiver is void (shown next to it). */
  void_reason?: string | undefined;
}

/** Why `checkId` can never be waived, or null when a team policy may allow it. */
export function neverWaivableReason(checkId: string): string | null {
  if (checkId.startsWith('signoff.')) return 'a stakeholder approval, not an automated check';
  if (checkId.startsWith('consistency.')) return 'a consistency check';
  return NEVER_WAIVABLE[checkId] ?? null;
}

/**
 * Refuses a team policy whose `waivers` names a check that does not exist, one that can never be
 * waived, or no approving role.
 */
export function validatePolicyWaivers(policy: Policy, knownChecks: readonly string[], source: string): void {
  for (const [check, roles] of Object.entries(policy.waivers)) {
    const never = neverWaivableReason(check);
    if (never)
      throw new GateError(
        'POLICY_INVALID',
        `${source}: waivers.${check}: ${check} is ${never} and can never be waived (security findings, integrity and consistency failures are never accepted)`,
      );
    if (!knownChecks.includes(check))
      throw new GateError('POLICY_INVALID', `${source}: waivers.${check}: no automated check has this id`);
    if (roles.length === 0)
      throw new GateError('POLICY_INVALID', `${source}: waivers.${check}: name at least one role that must approve`);
  }
}

/** Marks waivers whose expires_at has passed at `now`. Pure. */
export function withWaiverExpiry(records: readonly WaiverRecord[], now: Date): WaiverRecord[] {
  return records.map((w) => {
    const t = Date.parse(w.expires_at);
    return { ...w, expired: Number.isNaN(t) || now.getTime() >= t };
  });
}

/** Where each waiver stands against the report's digests and check results. */
export function waiverStandings(
  waivers: readonly WaiverRecord[],
  checks: readonly CheckResult[],
  digest: string,
  policyDigest: string,
): WaiverView[] {
  return waivers.map((w) => {
    const check = checks.find((c) => c.id === w.check);
    const view = (standing: WaiverStanding, void_reason?: string): WaiverView => ({
      ...w,
      standing,
      ...(void_reason ? { void_reason } : {}),
    });
    if (w.digest !== digest) return view('void', 'the artifacts changed since it was requested');
    if (w.policy_digest !== policyDigest) return view('void', 'the policy changed since it was requested');
    if (w.status === 'rejected') return view('rejected');
    if (w.expired) return view('expired');
    if (w.status === 'requested') return view('awaiting');
    if (check?.status !== 'fail') return view('void', `the check is ${check?.status ?? 'absent'}, not failing`);
    if (check.security) return view('void', 'the check reports a security finding, which is never waived');
    if (neverWaivableReason(w.check)) return view('void', 'this check can never be waived');
    return view('effective');
  });
}

/** Check ids waived for the gate: their failure counts as passing. */
export function waivedCheckIds(views: readonly WaiverView[]): Set<string> {
  return new Set(views.filter((w) => w.standing === 'effective').map((w) => w.check));
}

/** Roles still to approve a requested waiver. */
export function waiverRolesPending(w: Pick<WaiverRecord, 'roles' | 'approvals'>): SignoffRole[] {
  return w.roles.filter((r) => !w.approvals.some((a) => a.role === r));
}

/**
 * Why a waiver may not be requested, as codes and the facts a reply needs (the words are the
 * Slack layer's: slack/blocks/replies.ts waiverProblemText).
 */
export type WaiverRequestProblem =
  /** `never`: why the check can never be waived; null: the team policy does not list it. */
  | { kind: 'not_waivable'; check: string; never: string | null }
  | { kind: 'security_finding'; check: string }
  | { kind: 'not_failing'; check: string; status: CheckResult['status'] | 'unknown' }
  | { kind: 'reason'; problem: 'missing' | 'too_long' }
  /** `latest`: the last day a waiver requested now may run to. */
  | { kind: 'expiry'; problem: 'missing' | 'past' | 'too_far'; latest: string };

/** "2026-12-31" → the instant the waiver stops counting: the end of that day, UTC. */
export function expiryInstant(date: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const start = Date.parse(`${date}T00:00:00.000Z`);
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== date) return null;
  return new Date(start + 86_400_000);
}

/** The latest day a waiver requested at `now` may run to (YYYY-MM-DD, UTC). */
export function latestExpiryDate(now: Date): string {
  return new Date(now.getTime() + MAX_WAIVER_DAYS * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Whether a waiver of `check` may be requested under `policy` with this reason and expiry date:
 * the policy names the check, the check fails (not an error: a check that could not run is fixed,
 * not accepted) without a security finding, the reason is given, and the expiry is today or later
 * and at most MAX_WAIVER_DAYS ahead.
 */
export function waiverRequestProblem(input: {
  policy: Policy;
  check: CheckResult | undefined;
  checkId: string;
  reason?: string;
  expiresOn?: string;
  now: Date;
}): WaiverRequestProblem | null {
  const check = input.checkId;
  const never = neverWaivableReason(check);
  if (never) return { kind: 'not_waivable', check, never };
  if (!input.policy.waivers[check]) return { kind: 'not_waivable', check, never: null };
  if (input.check?.security) return { kind: 'security_finding', check };
  if (input.check?.status !== 'fail') return { kind: 'not_failing', check, status: input.check?.status ?? 'unknown' };
  if (input.reason !== undefined) {
    const r = input.reason.trim();
    if (r.length === 0) return { kind: 'reason', problem: 'missing' };
    if (r.length > MAX_WAIVER_REASON_CHARS) return { kind: 'reason', problem: 'too_long' };
  }
  if (input.expiresOn !== undefined) {
    const latest = latestExpiryDate(input.now);
    const until = expiryInstant(input.expiresOn);
    if (!until) return { kind: 'expiry', problem: 'missing', latest };
    if (until.getTime() <= input.now.getTime()) return { kind: 'expiry', problem: 'past', latest };
    if (input.expiresOn > latest) return { kind: 'expiry', problem: 'too_far', latest };
  }
  return null;
}

/** "2026-12-01" from an expiry instant: the last day the waiver counts (UTC). */
export function waiverUntil(expiresAt: string): string {
  const t = Date.parse(expiresAt);
  return Number.isNaN(t) ? expiresAt : new Date(t - 1).toISOString().slice(0, 10);
}
