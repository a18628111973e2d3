/**
 * The in-toto Statement v1 a PASSED gate yields: every manifest file as a subject, and our own
 * predicate (docs/attestation.md, docs/attestation-predicate.schema.json). Pure.
 */

import type { Metrics } from '../checks/types.js';
import type { GateReport } from '../engine.js';
import type { EffectivePolicy } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** DSSE payload type of an in-toto Statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Our predicate type; versioned: a breaking change of the predicate gets /v2. */
export const PREDICATE_TYPE = 'https://readiness-gate.dev/attestation/gate-passed/v1';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface GatePredicate {
  run: string;
  model_name: string;
  evaluation_id: string;
  gate: 'PASSED';
  artifact_digest: string;
  policy: {
    name: string;
    digest: string;
    sources: string[];
    overrides: EffectivePolicy['overrides'];
    effective: Policy;
  };
  checks: { id: string; status: string; metrics: Metrics }[];
  /** Failing automated items accepted by an effective waiver (id, why, who asked, who approved, until when). */
  waivers: PredicateWaiver[];
  signoffs: { role: string; user: string; decision: 'approved' | 'rejected'; at: string }[];
  passed_at: string;
  issued_at: string;
  issuer: { name: 'readiness-gate'; keyid: string };
}

export interface PredicateWaiver {
  check: string;
  reason: string;
  requested_by: string;
  requested_at: string;
  /** Slack user ids of the approvers, in the order they approved. */
  approved_by: string[];
  approvals: { role: string; user: string; at: string }[];
  expires_at: string;
  waiver_id: string;
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: typeof PREDICATE_TYPE;
  predicate: GatePredicate;
}

/** When the gate passed: the last counted sign-off, or (no sign-offs required) when the report was made. */
export function passedAt(report: GateReport): string {
  const times = report.signoffs
    .filter((s) => s.digest === report.digest && s.decision === 'approved')
    .map((s) => s.at)
    .sort();
  return times[times.length - 1] ?? report.generated_at;
}

export interface StatementInput {
  report: GateReport;
  evaluationId: string;
  issuedAt: Date;
  keyid: string;
}

export function buildStatement({ report, evaluationId, issuedAt, keyid }: StatementInput): Statement {
  if (report.gate !== 'passed')
    throw new Error(`an attestation is only made for a PASSED gate (${evaluationId} is ${report.gate})`);
  return {
    _type: STATEMENT_TYPE,
    subject: [...report.manifest.entries]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((e) => ({ name: e.path, digest: { sha256: e.sha256 } })),
    predicateType: PREDICATE_TYPE,
    predicate: {
      run: report.run,
      model_name: report.model_name,
      evaluation_id: evaluationId,
      gate: 'PASSED',
      artifact_digest: report.digest,
      policy: {
        name: report.policy.name,
        digest: report.policy.digest,
        sources: report.policy.sources,
        overrides: report.policy.overrides,
        effective: report.policy.effective,
      },
      checks: report.checks.map((c) => ({ id: c.id, status: c.status, metrics: c.metrics })),
      waivers: report.waivers
        .filter((w) => w.standing === 'effective')
        .map((w) => ({
          check: w.check,
          reason: w.reason,
          requested_by: w.requested_by,
          requested_at: w.requested_at,
          approved_by: w.approvals.map((a) => a.user),
          approvals: w.approvals.map((a) => ({ role: a.role, user: a.user, at: a.at })),
          expires_at: w.expires_at,
          waiver_id: w.id,
        })),
      signoffs: report.signoffs
        .filter((s) => s.digest === report.digest)
        .map((s) => ({ role: s.role, user: s.user, decision: s.decision, at: s.at })),
      passed_at: passedAt(report),
      issued_at: issuedAt.toISOString(),
      issuer: { name: 'readiness-gate', keyid },
    },
  };
}
