import { createHash, createPublicKey, verify as cryptoVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { setupGateHook } from '../../src/attestation/setup.js';
import type { Harness } from '../slack/harness.js';

export interface KeyFiles {
  dir: string;
  privatePem: string;
  publicPem: string;
  keyid: string;
}

/** A fresh Ed25519 key pair as PKCS#8 / SPKI PEM files. */
export async function makeKeyFiles(): Promise<KeyFiles> {
  const dir = await mkdtemp(path.join(tmpdir(), 'readiness-keys-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = path.join(dir, 'attestation.key.pem');
  const publicPem = path.join(dir, 'attestation.pub.pem');
  await writeFile(privatePem, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(publicPem, publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    dir,
    privatePem,
    publicPem,
    keyid: createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex'),
  };
}

/**
 * A verifier written from the DSSE v1.0.0 protocol text alone, sharing no code with src/:
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (LEN: ASCII decimal byte
 * length), signature = Ed25519 over PAE, payload and sig base64 (standard or URL-safe).
 */
export function independentlyVerify(
  envelopeJson: string,
  publicKeyPem: string,
): { payloadType: string; statement: Record<string, unknown> } {
  const env = JSON.parse(envelopeJson) as {
    payload: string;
    payloadType: string;
    signatures: { keyid?: string; sig: string }[];
  };
  const body = Buffer.from(env.payload.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const type = Buffer.from(env.payloadType, 'utf8');
  const message = Buffer.concat([
    Buffer.from('DSSEv1 '),
    Buffer.from(String(type.length)),
    Buffer.from(' '),
    type,
    Buffer.from(' '),
    Buffer.from(String(body.length)),
    Buffer.from(' '),
    body,
  ]);
  const key = createPublicKey(publicKeyPem);
  const ok = env.signatures.some((s) =>
    cryptoVerify(null, message, key, Buffer.from(s.sig.replace(/-/g, '+').replace(/_/g, '/'), 'base64')),
  );
  if (!ok) throw new Error('no signature verifies over PAE');
  return { payloadType: env.payloadType, statement: JSON.parse(body.toString('utf8')) as Record<string, unknown> };
}

/** A copy of an envelope with one byte of the decoded payload changed (re-encoded, signature kept). */
export function tamperPayload(envelopeJson: string, at: number): string {
  const env = JSON.parse(envelopeJson) as { payload: string };
  const body = Buffer.from(env.payload, 'base64');
  body[at] = (body[at] as number) ^ 0x01;
  return JSON.stringify({ ...env, payload: body.toString('base64') });
}

export function tamperSignature(envelopeJson: string): string {
  const env = JSON.parse(envelopeJson) as { signatures: { keyid?: string; sig: string }[] };
  const sig = Buffer.from(env.signatures[0]?.sig ?? '', 'base64');
  sig[10] = (sig[10] as number) ^ 0x80;
  return JSON.stringify({ ...env, signatures: [{ ...env.signatures[0], sig: sig.toString('base64') }] });
}

/**
 * The harness's gate hook with attestations signed by `keyFile` and webhooks whose secret is read
 * from the variable `secretEnv` (answered with `secret`), retried quickly.
 */
export function signingGateHook(keyFile: string, secretEnv: string, secret: string) {
  return (hh: Harness) =>
    setupGateHook({
      redis: hh.redis,
      prefix: hh.prefix,
      store: hh.store,
      config: hh.config,
      log: pino({ level: 'silent' }),
      signingKeyFile: keyFile,
      lookupEnv: (n) => (n === secretEnv ? secret : undefined),
      webhookBackoffMs: 50,
    });
}
