/**
 * ONNX inspection before any onnxruntime session exists. The file is opened through the run's
 * confined, type-checked open and size-capped; its bytes are measured on the protobuf wire and
 * decoded in a heap-capped worker thread (decode.ts, decode-client.ts), never on this event loop;
 * every tensor's declared size is checked against what the file really holds; and every
 * external-data reference, from any tensor-carrying field of any subgraph, is proved here to stay
 * inside the model's folder without following links or reading the referenced file.
 * onnxruntime only ever sees a model that passed this, and loads it by its path inside the run.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { RunArtifacts } from '../artifacts/run.js';
import type { WeightDigest } from '../checkpoint/provenance.js';
import { GateError } from '../errors.js';
import { sniffOnnx } from '../formats/sniff.js';
import {
  type DecodedInspection,
  float32Copy,
  keepsFoldValues,
  type OnnxLimits,
  sha256Hex,
  unsafe,
  type ValueInfo,
} from './decode.js';
import { decodeCached } from './decode-cache.js';

export { ONNX_DTYPES, type OnnxLimits, onnxLimits, type ValueInfo } from './decode.js';

export interface ExternalDataRef {
  tensor: string;
  /** Run-relative path of the external file. */
  file: string;
  offset: number;
  length: number;
}

export interface OnnxInspection extends Omit<DecodedInspection, 'declaredExternal'> {
  rel: string;
  fileBytes: number;
  externalData: ExternalDataRef[];
  externalBytes: number;
}

/** Proves an external-data location stays in the model's folder, never following a link. */
async function checkExternalLocation(
  run: RunArtifacts,
  modelRel: string,
  tensor: string,
  where: string,
  location: string,
): Promise<{ rel: string; size: number }> {
  const what = `tensor "${tensor}" (${where}) stores its data in external file "${location}"`;
  if (location.length === 0)
    throw unsafe(modelRel, `tensor "${tensor}" (${where}) declares external data without a location`);
  if (location.includes('\0')) throw unsafe(modelRel, `${what}, which contains a NUL byte`);
  if (path.posix.isAbsolute(location) || path.win32.isAbsolute(location) || /^[A-Za-z]:/.test(location)) {
    throw unsafe(modelRel, `${what}, an absolute path outside the model's folder`);
  }
  const parts = location.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.');
  if (parts.includes('..')) throw unsafe(modelRel, `${what}, which contains ".." and leaves the model's folder`);
  if (parts.length === 0) throw unsafe(modelRel, `${what}, which names no file`);
  const modelDir = path.posix.dirname(modelRel);
  const dirAbs = await run.resolve(modelDir === '.' ? '.' : modelDir);
  // lstat every component: a symlink anywhere on the way is refused, without following it
  let abs = dirAbs;
  for (let i = 0; i < parts.length; i++) {
    abs = path.join(abs, parts[i] as string);
    const st = await lstat(abs).catch(() => null);
    if (!st) {
      throw new GateError('NOT_FOUND', `${modelRel}: ${what}, which does not exist next to the model`, {
        file: modelRel,
      });
    }
    if (st.isSymbolicLink()) throw unsafe(modelRel, `${what}, which is a symlink (${parts.slice(0, i + 1).join('/')})`);
    if (i < parts.length - 1 && !st.isDirectory())
      throw new GateError('NOT_FOUND', `${modelRel}: ${what}, whose folder is not a directory`, { file: modelRel });
    if (i === parts.length - 1 && !st.isFile()) throw unsafe(modelRel, `${what}, which is not a regular file`);
  }
  const rel = modelDir === '.' ? parts.join('/') : `${modelDir}/${parts.join('/')}`;
  // confined open (O_NOFOLLOW) also records the file for the evaluation manifest
  const f = await run.openFile(rel);
  await f.handle.close();
  return { rel, size: f.size };
}

/** Proves every declared external reference: location inside the model's folder, offset and length inside the file. */
async function verifyExternal(
  run: RunArtifacts,
  modelRel: string,
  decoded: DecodedInspection,
): Promise<{ refs: ExternalDataRef[]; bytes: number }> {
  const refs: ExternalDataRef[] = [];
  const files = new Map<string, number>();
  for (const d of decoded.declaredExternal) {
    const name = d.tensor;
    const { rel, size } = await checkExternalLocation(run, modelRel, name, d.where, d.location);
    const offset = Number(d.offset ?? '0');
    const length = d.length !== null ? Number(d.length) : size - offset;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw unsafe(modelRel, `tensor "${name}" has an invalid external offset/length (${d.offset}/${d.length})`);
    }
    if (offset + length > size) {
      throw unsafe(
        modelRel,
        `tensor "${name}" claims bytes ${offset}..${offset + length} of ${rel}, which holds only ${size} bytes`,
      );
    }
    if (length < d.claim) {
      throw unsafe(
        modelRel,
        `tensor "${name}" (${d.where}) declares ${d.claim} bytes but its external data holds only ${length}`,
      );
    }
    files.set(rel, size);
    refs.push({ tensor: name, file: rel, offset, length });
  }
  return { refs, bytes: [...files.values()].reduce((a, b) => a + b, 0) };
}

/** Largest single read: Node's fs read takes a 32-bit length, so a file over 2 GiB is read in pieces. */
const READ_CHUNK = 64 * 1024 * 1024;

/** Reads the whole model file (confined, type-checked, size-capped before reading) into a buffer of its own. */
async function readModelBytes(
  run: RunArtifacts,
  rel: string,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; rel: string; absolutePath: string }> {
  const f = await run.openFile(rel, { maxBytes }).catch((err: unknown) => {
    if (err instanceof GateError && err.code === 'TOO_LARGE')
      throw new GateError('TOO_LARGE', `${err.message} (limits.max_onnx_bytes)`, { file: rel });
    throw err;
  });
  try {
    // Tags and lengths of the top level first: junk or a sparse multi-GB file is refused from its
    // head, before the whole file is read into memory.
    const sniff = f.size > 0 ? await sniffOnnx(f.handle, f.size) : { ok: true };
    if (!sniff.ok) {
      const reason = sniff.reason ?? 'not an ONNX ModelProto';
      const why = /past the end of the file|truncated/.test(reason) ? `the protobuf is truncated (${reason})` : reason;
      throw new GateError('PARSE_ERROR', `${f.rel} is not a valid ONNX model: ${why}`, { file: f.rel });
    }
    const bytes = new Uint8Array(f.size);
    let off = 0;
    while (off < f.size) {
      const { bytesRead } = await f.handle.read(bytes, off, Math.min(f.size - off, READ_CHUNK), off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== f.size) throw new GateError('UNREADABLE', `${f.rel} shrank while being read`, { file: f.rel });
    return { bytes, rel: f.rel, absolutePath: f.absolutePath };
  } finally {
    await f.handle.close();
  }
}

export interface LoadedOnnx {
  info: OnnxInspection;
  /** Resolved path inside the run: onnxruntime loads the model from here, so relative external data resolves next to it. */
  absolutePath: string;
}

async function inspectWith(
  run: RunArtifacts,
  rel: string,
  limits: OnnxLimits,
  opts: { weights: boolean; signal?: AbortSignal | undefined },
) {
  const file = await readModelBytes(run, rel, limits.maxBytes);
  const fileBytes = file.bytes.length;
  const decoded = await decodeCached(file.bytes, file.rel, limits, {
    weights: opts.weights,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const { refs, bytes: externalBytes } = await verifyExternal(run, file.rel, decoded.inspection);
  if (fileBytes + externalBytes > limits.maxBytes) {
    throw new GateError(
      'TOO_LARGE',
      `${file.rel} with its external data is ${fileBytes + externalBytes} bytes, over limits.max_onnx_bytes (${limits.maxBytes})`,
      { file: file.rel },
    );
  }
  const { declaredExternal: _declared, ...rest } = decoded.inspection;
  const info: OnnxInspection = { ...rest, rel: file.rel, fileBytes, externalData: refs, externalBytes };
  return { info, absolutePath: file.absolutePath, weights: decoded.weights ?? [] };
}

/** Reads, measures, decodes (off the event loop) and inspects the run's ONNX model. */
export async function inspectOnnxFile(
  run: RunArtifacts,
  rel: string,
  limits: OnnxLimits,
  opts: { signal?: AbortSignal } = {},
): Promise<LoadedOnnx> {
  const { info, absolutePath } = await inspectWith(run, rel, limits, { weights: false, signal: opts.signal });
  return { info, absolutePath };
}

/** Every run-relative file the model references (its external data files), after the same checks; the model itself not included. */
export async function onnxReferencedFiles(
  run: RunArtifacts,
  rel: string,
  limits: OnnxLimits,
  opts: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const { info } = await inspectOnnxFile(run, rel, limits, opts);
  return [...new Set(info.externalData.map((e) => e.file))].sort();
}

async function readRange(run: RunArtifacts, rel: string, offset: number, length: number): Promise<Buffer> {
  const f = await run.openFile(rel);
  try {
    if (offset + length > f.size)
      throw new GateError('PARSE_ERROR', `${rel} is shorter than the external data it should hold`, { file: rel });
    const buf = Buffer.alloc(length);
    let off = 0;
    while (off < length) {
      const { bytesRead } = await f.handle.read(buf, off, Math.min(length - off, READ_CHUNK), offset + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf;
  } finally {
    await f.handle.close();
  }
}

/** Digests of the ONNX model's floating-point initializers (decoded off the event loop; external data read in place, confined). */
export async function onnxWeightDigests(
  run: RunArtifacts,
  rel: string,
  limits: OnnxLimits,
  opts: { signal?: AbortSignal } = {},
): Promise<WeightDigest[]> {
  const { info, weights } = await inspectWith(run, rel, limits, { weights: true, signal: opts.signal });
  const external = new Map(info.externalData.map((e) => [e.tensor, e]));
  const out: WeightDigest[] = [];
  for (const w of weights) {
    if (w.digest !== null) {
      out.push({
        name: w.name,
        dtype: w.dtype,
        shape: w.shape,
        numel: w.numel,
        digest: w.digest,
        ...(w.values ? { values: w.values } : {}),
      });
      continue;
    }
    const ext = external.get(w.name);
    if (!ext) continue;
    const bytes = await readRange(run, ext.file, ext.offset, ext.length);
    out.push({
      name: w.name,
      dtype: w.dtype,
      shape: w.shape,
      numel: w.numel,
      digest: sha256Hex(bytes),
      ...(keepsFoldValues(w.dtype, w.numel) ? { values: float32Copy(bytes) } : {}),
    });
  }
  return out;
}

/** One line for evidence: what the model is. */
export function describeModel(info: OnnxInspection): string {
  const io = (vs: ValueInfo[]) =>
    vs.map((v) => `"${v.name}" ${v.dtype} [${v.shape.map((d) => d ?? '?').join(', ')}]`).join(', ');
  return (
    `${info.rel}: ONNX IR ${info.irVersion}, opset ${info.opset ?? 'none'}${info.producer ? `, from ${info.producer}` : ''}, ` +
    `${info.nodes} nodes, ${info.parameters.toLocaleString('en-US')} parameters in ${info.initializers} initializers` +
    `${info.externalData.length ? `, external data: ${[...new Set(info.externalData.map((e) => e.file))].join(', ')}` : ''}; ` +
    `inputs ${io(info.inputs)}; outputs ${io(info.outputs)}`
  );
}
