/** `readiness check --sign-key F --attestation-out F`: attestations of CI-only gates (no sign-offs required). */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { GateReport } from '../engine.js';
import { GateError } from '../errors.js';
import type { SigningKey } from './keys.js';
import { createAttestation, envelopeText } from './sign.js';

export function ciEvaluationId(report: GateReport, now: Date): string {
  return `ci-${now.getTime().toString(36)}-${report.digest.slice(0, 8)}${randomBytes(2).toString('hex')}`;
}

/**
 * Signs the report's attestation into `out` when the gate PASSED. Refused (usage error, exit 2)
 * when the policy requires sign-offs: those are collected in Slack, never assumed by a CI run.
 * Returns a sentence for stderr and whether a file was written.
 */
export async function signCiAttestation(
  report: GateReport,
  key: SigningKey,
  out: string,
  now: Date = new Date(),
): Promise<{ written: boolean; message: string }> {
  const roles = report.policy.effective.signoff.required_roles;
  if (roles.length > 0) {
    throw new GateError(
      'USAGE',
      `--sign-key: the policy "${report.policy.name}" requires sign-offs (${roles.join(', ')}), which are collected in Slack; \`readiness check\` signs only gates whose policy sets signoff.required_roles: [] (CI-only gates). Use \`readiness attestation\` for a gate that passed in Slack.`,
    );
  }
  if (report.gate !== 'passed')
    return { written: false, message: `no attestation written: the gate is ${report.gate.toUpperCase()}, not PASSED` };
  const { envelope, statement } = createAttestation(report, ciEvaluationId(report, now), key, now);
  await writeFile(out, envelopeText(envelope));
  return {
    written: true,
    message: `attestation of ${statement.subject.length} files (evaluation ${statement.predicate.evaluation_id}, key ${key.keyid}) written to ${out}`,
  };
}
