import { writeFile } from 'node:fs/promises';
import { envelopeText } from '../../attestation/sign.js';
import { loadProcessConfig } from '../../config/env.js';
import { GateError } from '../../errors.js';
import { AttestationStore, type StoredAttestation } from '../../store/attestations.js';
import { EVALUATION_ID } from '../../store/redis-store.js';
import { checkOutputPath, exitWith, type Io } from '../output.js';

/** What `--status` prints: whether the attestation still stands, and why not. */
export function attestationStatus(a: StoredAttestation): Record<string, unknown> {
  return {
    evaluation_id: a.evaluation_id,
    sequence: a.sequence,
    run: a.run,
    status: a.status,
    keyid: a.keyid,
    artifact_digest: a.artifact_digest,
    policy_digest: a.policy_digest,
    passed_at: a.passed_at,
    issued_at: a.issued_at,
    revoked_at: a.revoked_at,
    revoked_reason: a.revoked_reason,
  };
}

/**
 * `readiness attestation <run|evaluation> [--output F] [--status] [--sequence N]`: the signed
 * attestation of a PASSED evaluation from the store (REDIS_URL); for a run name, its latest PASSED
 * evaluation. The newest one of that evaluation (a gate re-opened and PASSED again has one per
 * PASSED), or the one numbered `--sequence` (0 = the first). Exit 1 when it was revoked.
 */
export async function attestationCommand(
  ref: string,
  o: { output?: string; status?: boolean; sequence?: number },
  io: Io,
): Promise<void> {
  await checkOutputPath(o.output);
  const config = loadProcessConfig({ need: ['REDIS_URL'] });
  const { connectRedis } = await import('../../queue/connection.js');
  const redis = await connectRedis(config.REDIS_URL, { connectionName: 'readiness-attestation' });
  try {
    const store = new AttestationStore(redis, { prefix: config.REDIS_PREFIX });
    const newest =
      (EVALUATION_ID.test(ref) ? await store.get(ref) : null) ?? (await store.latestForRun(ref).catch(() => null));
    if (!newest)
      throw new GateError(
        'NOT_FOUND',
        `no attestation for "${ref}" (neither a PASSED evaluation id nor a run with a PASSED evaluation)`,
      );
    const found =
      o.sequence === undefined || o.sequence === newest.sequence
        ? newest
        : await store.get(newest.evaluation_id, o.sequence);
    if (!found)
      throw new GateError(
        'NOT_FOUND',
        `evaluation ${newest.evaluation_id} has no attestation ${o.sequence} (its newest is ${newest.sequence})`,
      );
    const text = o.status ? `${JSON.stringify(attestationStatus(found), null, 2)}\n` : envelopeText(found.envelope);
    if (o.output) {
      await writeFile(o.output, text);
      io.stderr.write(
        `${o.status ? 'status' : 'attestation'} of evaluation ${found.evaluation_id} written to ${o.output}\n`,
      );
    } else {
      io.stdout.write(text);
    }
    if (found.status === 'revoked')
      io.stderr.write(
        `readiness: the attestation of ${found.evaluation_id} was REVOKED at ${found.revoked_at}: ${found.revoked_reason}\n`,
      );
    // a revoked attestation is still printed (for the record), but never with exit 0
    exitWith(found.status === 'revoked' ? 1 : 0);
  } finally {
    redis.disconnect();
  }
}
