import { readFile } from 'node:fs/promises';
import { readPublicKey } from '../../attestation/keys.js';
import { parseDuration, verifyAttestation } from '../../attestation/verify.js';
import { GateError } from '../../errors.js';
import { ExitError, type Io } from '../output.js';

export interface VerifyFlags {
  attestation: string;
  publicKey: string;
  policyDigest?: string;
  maxAge?: string;
  format: 'text' | 'json';
}

/** Reads the envelope file: unreadable is a usage error (2); readable but not JSON fails verification (1). */
async function readEnvelope(file: string): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GateError('USAGE', `attestation ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: `attestation: ${file} is not JSON` };
  }
}

/**
 * `readiness verify <run-dir> --attestation F --public-key K.pem`: exit 0 only when the run holds
 * exactly the attested bytes of a PASSED gate; 1 with the first reason otherwise; 2 on usage errors.
 * No Redis, no Slack, no network.
 */
export async function verifyCommand(runDir: string, o: VerifyFlags, io: Io): Promise<void> {
  if (o.policyDigest !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.policyDigest))
    throw new GateError('USAGE', `--policy-digest: expected 64 hex digits (sha256), got "${o.policyDigest}"`);
  const maxAgeMs = o.maxAge === undefined ? undefined : parseDuration(o.maxAge);
  const publicKey = await readPublicKey(o.publicKey);
  const envelope = await readEnvelope(o.attestation);
  const result = envelope.ok
    ? await verifyAttestation({
        runDir,
        envelope: envelope.value,
        publicKey,
        policyDigest: o.policyDigest,
        maxAgeMs,
      })
    : envelope;
  if (o.format === 'json') io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (!result.ok) {
    if (o.format !== 'json') io.stdout.write(`NOT VERIFIED: ${result.reason}\n`);
    throw new ExitError(1);
  }
  if (o.format !== 'json') {
    io.stdout.write(
      `VERIFIED: ${runDir} holds the ${result.files} files attested for ${result.model_name} (run ${result.run}, evaluation ${result.evaluation_id})\n` +
        `  gate PASSED at ${result.passed_at} · policy ${result.policy.name} ${result.policy.digest} · key ${result.keyid}\n`,
    );
  }
}
