/** Ed25519 keys for attestations: PKCS#8 PEM private keys, SPKI PEM public keys. */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GateError } from '../errors.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** sha256 (hex) of the public key's SPKI DER. */
  keyid: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new GateError('CONFIG_INVALID', `${what} ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** A private key from PKCS#8 PEM text; refused unless it is Ed25519. `source` names it in errors. */
export function parseSigningKey(pem: string, source: string): SigningKey {
  if (!/-----BEGIN PRIVATE KEY-----/.test(pem))
    throw new GateError(
      'CONFIG_INVALID',
      `${source}: expected a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----")`,
    );
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new GateError('CONFIG_INVALID', `${source}: not a readable PKCS#8 PEM private key`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new GateError(
      'CONFIG_INVALID',
      `${source}: expected an Ed25519 key, got ${privateKey.asymmetricKeyType ?? 'unknown'}`,
    );
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyid: keyIdOf(publicKey) };
}

export async function readSigningKey(file: string, what = 'signing key'): Promise<SigningKey> {
  return parseSigningKey(await readPem(file, what), `${what} ${file}`);
}

/** A public key from SPKI PEM ("-----BEGIN PUBLIC KEY-----"); refused unless it is Ed25519. */
export async function readPublicKey(file: string): Promise<KeyObject> {
  const pem = await readPem(file, 'public key');
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem))
    throw new GateError('USAGE', `public key ${file}: expected a PEM public key ("-----BEGIN PUBLIC KEY-----")`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new GateError('USAGE', `public key ${file}: not a readable PEM public key`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new GateError(
      'USAGE',
      `public key ${file}: expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  return key;
}
