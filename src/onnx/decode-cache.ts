/**
 * One evaluation asks for the same model's inspection several times (the manifest's external
 * files, export.present's size, every check that loads the model). The heap-capped decode
 * (decode-client.ts) runs once per content: answers are kept by the sha256 of the model's bytes
 * (with its path, the caps and whether weights were asked for), so a file whose bytes changed
 * never hits. Few entries, least recently used dropped: enough for one evaluation's model.
 * Only answers are kept (a refusal is decoded again, and says so again); callers get copies.
 */
import { createHash } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type DecodedInspection, fullLimits, type InitializerDigest, type OnnxLimits } from './decode.js';
import { decodeInWorker } from './decode-client.js';

type Decoded = { inspection: DecodedInspection; weights?: InitializerDigest[] };

const MAX_ENTRIES = 4;
/** The digest is taken in slices so a large model does not hold the event loop for long. */
const DIGEST_SLICE = 16 * 1024 * 1024;

const entries = new Map<string, Decoded>();

async function contentDigest(bytes: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  for (let off = 0; off < bytes.length; off += DIGEST_SLICE) {
    if (off > 0) await yieldToLoop();
    hash.update(bytes.subarray(off, off + DIGEST_SLICE));
  }
  return hash.digest('hex');
}

/** {@link decodeInWorker}, answered from the cache when these exact bytes were decoded under the same caps. */
export async function decodeCached(
  bytes: Uint8Array,
  rel: string,
  limits: OnnxLimits,
  opts: { weights?: boolean; signal?: AbortSignal } = {},
): Promise<Decoded> {
  const key = JSON.stringify([await contentDigest(bytes), rel, fullLimits(limits), opts.weights ?? false]);
  const hit = entries.get(key);
  if (hit && !opts.signal?.aborted) {
    entries.delete(key);
    entries.set(key, hit);
    return structuredClone(hit);
  }
  const decoded = await decodeInWorker(bytes, rel, limits, opts);
  entries.set(key, structuredClone(decoded));
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
  return decoded;
}
