/**
 * DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0.0) with Ed25519 from
 * node:crypto. Pure functions: the key objects are passed in.
 */
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { SigningKey } from './keys.js';
import { keyIdOf } from './keys.js';

export interface DsseSignature {
  keyid?: string;
  sig: string;
}

export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${body.length} `, 'ascii'),
    body,
  ]);
}

export function signEnvelope(body: Buffer, payloadType: string, key: SigningKey): DsseEnvelope {
  const sig = cryptoSign(null, pae(payloadType, body), key.privateKey);
  return {
    payload: body.toString('base64'),
    payloadType,
    signatures: [{ keyid: key.keyid, sig: sig.toString('base64') }],
  };
}

/** Standard or URL-safe base64 (the spec allows both); null when the text is not base64 at all. */
export function decodeBase64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return null;
  if (/[+/]/.test(text) && /[_-]/.test(text)) return null;
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  const unpadded = std.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  const buf = Buffer.from(std, 'base64');
  // round-trip: rejects non-canonical trailing bits, so one envelope has one meaning
  if (buf.toString('base64').replace(/=+$/, '') !== unpadded) return null;
  return buf;
}

export type EnvelopeVerdict =
  | { ok: true; body: Buffer; payloadType: string; keyid: string }
  | { ok: false; reason: string };

/**
 * Verifies an envelope (parsed JSON) against one public key: some signature whose keyid is unset or
 * equals the key's id must verify over PAE. The keyid is only a hint (the spec says so); a
 * signature with another keyid is skipped, and when none is left that is the reason given.
 */
export function verifyEnvelope(envelope: unknown, publicKey: KeyObject, expectedType: string): EnvelopeVerdict {
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope))
    return {
      ok: false,
      reason: 'attestation: not a DSSE envelope (expected a JSON object with payload, payloadType, signatures)',
    };
  const e = envelope as Record<string, unknown>;
  if (typeof e.payload !== 'string' || typeof e.payloadType !== 'string' || !Array.isArray(e.signatures)) {
    return { ok: false, reason: 'attestation: not a DSSE envelope (payload, payloadType and signatures are required)' };
  }
  const body = decodeBase64(e.payload);
  if (!body) return { ok: false, reason: 'attestation: payload is not base64' };
  const keyid = keyIdOf(publicKey);
  const candidates = e.signatures.filter(
    (s): s is { keyid?: unknown; sig: string } =>
      typeof s === 'object' && s !== null && typeof (s as { sig?: unknown }).sig === 'string',
  );
  if (candidates.length === 0) return { ok: false, reason: 'attestation: the envelope has no signatures' };
  const forKey = candidates.filter((s) => s.keyid === undefined || s.keyid === '' || s.keyid === keyid);
  if (forKey.length === 0) {
    const ids = candidates.map((s) => String(s.keyid)).join(', ');
    return { ok: false, reason: `signature: signed by key ${ids}, not by the given public key ${keyid}` };
  }
  const message = pae(e.payloadType, body);
  for (const s of forKey) {
    const sig = decodeBase64(s.sig);
    if (sig && cryptoVerify(null, message, publicKey, sig)) {
      if (e.payloadType !== expectedType)
        return { ok: false, reason: `attestation: payload type "${e.payloadType}", expected "${expectedType}"` };
      return { ok: true, body, payloadType: e.payloadType, keyid };
    }
  }
  return {
    ok: false,
    reason: `signature: does not verify with key ${keyid} (payload, payload type or signature altered)`,
  };
}
