import type { Manifest } from '../artifacts/manifest.js';
import type { CheckResult } from '../checks/types.js';
import type { GateStatus, SignoffRecord } from '../gate/evaluate.js';
import type { EffectivePolicy } from '../policy/load.js';
import type { SignoffRole } from '../policy/schema.js';
import type { WaiverRecord } from '../waivers/waivers.js';

/** Where the gate message lives in Slack (set once the app has posted it). */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

export interface Evaluation {
  id: string;
  /** Run name relative to ARTIFACT_ROOT. */
  run: string;
  manifest: Manifest;
  digest: string;
  policy: EffectivePolicy;
  /** Who asked (Slack user id, or "cli:<user>" for `readiness submit`). */
  requester: string;
  /** Channel to post the gate message to (null for CLI submissions). */
  channel: string | null;
  message: SlackMessageRef | null;
  /** Evaluation this one superseded (a rerun of the same run), if any. */
  supersedes: string | null;
  /** Set when a newer evaluation of the same run exists. */
  superseded_by: string | null;
  created_at: string;
  updated_at: string;
  /** Times a PASSED gate was re-opened by a withdrawal (0 for most). */
  reopened?: number;
  /** Monotonic; bumped by every state change (results, sign-offs, message ref). */
  version: number;
}

/** An evaluation with its current results and sign-offs, and the gate recomputed from them. */
export interface EvaluationState {
  evaluation: Evaluation;
  checks: CheckResult[];
  signoffs: SignoffRecord[];
  /** Waivers stored for the evaluation's (artifact digest, policy digest) pair, expiry marked by the store's clock. */
  waivers?: WaiverRecord[];
  gate: GateStatus;
}

export type SignoffRefusal =
  | 'not_authorised'
  | 'self_approval'
  | 'already_signed_other_role'
  | 'role_already_signed'
  | 'digest_changed'
  | 'checks_not_passing'
  | 'superseded'
  | 'unknown_evaluation'
  | 'nothing_to_withdraw'
  | 'already_signed_this_role'
  | 'not_own_signoff';

export type SignoffAttemptResult =
  | { ok: true; state: EvaluationState; record: SignoffRecord }
  | { ok: false; reason: SignoffRefusal };

export interface SignoffAttempt {
  evaluationId: string;
  role: SignoffRole;
  decision: 'approved' | 'rejected';
  user: string;
  reason?: string;
  /** Digest the clicked message showed; must equal the evaluation's current digest. */
  digest: string;
  /** Authorisation (approver lists, user groups) is decided by the caller and passed in. */
  authorised: boolean;
  /** READINESS_CONFIG allow_self_approval; the evaluation's policy (signoff.allow_self_approval) can also allow it. */
  allowSelfApproval: boolean;
  /** READINESS_CONFIG one_role_per_person (default true): a person signs at most one role of an evaluation. */
  onePerPerson?: boolean;
}

/** A withdrawal; `reopened` when it took a PASSED gate back to PENDING (BLOCKED with a rejection left). */
export type WithdrawResult =
  | { ok: true; state: EvaluationState; record: SignoffRecord; reopened: boolean }
  | { ok: false; reason: SignoffRefusal };

export interface WithdrawAttempt {
  evaluationId: string;
  role: SignoffRole;
  /** Who withdraws (must be able to sign the role: decided by the caller). */
  user: string;
  /** Digest the clicked message showed. */
  digest: string;
  authorised: boolean;
}

export interface AuditEntry {
  /** Redis stream id. */
  id: string;
  type: string;
  evaluation: string | null;
  actor: string | null;
  at: string;
  data: Record<string, unknown>;
}

export type WaiverRefusal =
  | 'unknown_evaluation'
  | 'superseded'
  | 'digest_changed'
  | 'not_requester'
  | 'not_waivable'
  | 'check_not_failing'
  | 'security_finding'
  | 'waiver_pending'
  | 'already_waived'
  | 'not_authorised'
  | 'unknown_waiver'
  | 'waiver_decided'
  | 'waiver_expired'
  | 'role_not_required'
  | 'self_approval'
  | 'role_already_decided'
  | 'already_approved_other_role';

export type WaiverAttemptResult =
  | { ok: true; state: EvaluationState; waiver: WaiverRecord }
  | { ok: false; reason: WaiverRefusal };

export interface WaiverRequestAttempt {
  evaluationId: string;
  check: string;
  user: string;
  /** Digest the clicked message showed (the caller re-reads the run's files when it is current). */
  digest: string;
  reason: string;
  /** When the waiver stops counting (ISO). */
  expiresAt: string;
}

export interface WaiverDecisionAttempt {
  evaluationId: string;
  check: string;
  waiverId: string;
  role: SignoffRole;
  user: string;
  decision: 'approved' | 'rejected';
  reason?: string;
  digest: string;
  /** Decided by the caller with the approver directory (users and user groups). */
  authorised: boolean;
}
