/** The JSON a webhook receives: the gate summary and, when there is one, the attestation and its status. Pure. */
import type { GateReport } from '../engine.js';
import type { StoredAttestation } from '../store/attestations.js';
import type { EvaluationState } from '../store/types.js';
import type { WebhookEvent } from './config.js';

export interface WebhookBody {
  event: WebhookEvent;
  delivery_id: string;
  occurred_at: string;
  evaluation_id: string;
  run: string;
  model_name: string;
  gate: 'PASSED' | 'BLOCKED' | 'PENDING';
  superseded_by: string | null;
  artifact_digest: string;
  policy: { name: string; digest: string };
  blocking: string[];
  outstanding: string[];
  checks: { id: string; status: string }[];
  signoffs: { role: string; user: string; decision: string; at: string; reason?: string }[];
  /** Effective waivers: failing checks accepted with stakeholder approval. */
  waivers: {
    id: string;
    check: string;
    reason: string;
    requested_by: string;
    approvals: { role: string; user: string; at: string }[];
    expires_at: string;
  }[];
  /** For the `waived` event: the waiver that became effective. */
  waiver?: string;
  attestation: {
    /** 0 for the evaluation's first PASSED; n for the n-th time it passed again after a re-opening. */
    sequence: number;
    status: 'valid' | 'revoked';
    keyid: string;
    revoked_at: string | null;
    revoked_reason: string | null;
    envelope: StoredAttestation['envelope'];
  } | null;
}

export function webhookBody(input: {
  event: WebhookEvent;
  deliveryId: string;
  occurredAt: Date;
  state: EvaluationState;
  report: GateReport;
  attestation: StoredAttestation | null;
  /** The waiver a `waived` event is about. */
  waiverId?: string;
}): WebhookBody {
  const { state, report, attestation: a } = input;
  return {
    event: input.event,
    delivery_id: input.deliveryId,
    occurred_at: input.occurredAt.toISOString(),
    evaluation_id: state.evaluation.id,
    run: state.evaluation.run,
    model_name: report.model_name,
    gate: report.gate.toUpperCase() as WebhookBody['gate'],
    superseded_by: state.evaluation.superseded_by,
    artifact_digest: report.digest,
    policy: { name: report.policy.name, digest: report.policy.digest },
    blocking: report.blocking,
    outstanding: report.outstanding,
    checks: report.checks.map((c) => ({ id: c.id, status: c.status })),
    signoffs: report.signoffs
      .filter((s) => s.digest === report.digest)
      .map((s) => ({
        role: s.role,
        user: s.user,
        decision: s.decision,
        at: s.at,
        ...(s.reason !== undefined ? { reason: s.reason } : {}),
      })),
    waivers: report.waivers
      .filter((w) => w.standing === 'effective')
      .map((w) => ({
        id: w.id,
        check: w.check,
        reason: w.reason,
        requested_by: w.requested_by,
        approvals: w.approvals,
        expires_at: w.expires_at,
      })),
    ...(input.waiverId !== undefined ? { waiver: input.waiverId } : {}),
    attestation: a
      ? {
          sequence: a.sequence,
          status: a.status,
          keyid: a.keyid,
          revoked_at: a.revoked_at,
          revoked_reason: a.revoked_reason,
          envelope: a.envelope,
        }
      : null,
  };
}
