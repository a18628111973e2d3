/**
 * ONNX inspection before any onnxruntime session exists: the protobuf is decoded in JS, every
 * tensor's declared size is checked against what the file really holds, and every external-data
 * reference is proved to stay inside the model's folder without following links or reading the
 * referenced file. onnxruntime only ever sees a model that passed this.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';

const { onnx } = onnxProto;
type ModelProto = InstanceType<typeof onnx.ModelProto>;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IGraphProto = onnxProto.onnx.IGraphProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type LongLike = number | { toString(): string };

export const ONNX_DTYPES: Record<number, { name: string; size: number }> = {
  1: { name: 'float32', size: 4 },
  2: { name: 'uint8', size: 1 },
  3: { name: 'int8', size: 1 },
  4: { name: 'uint16', size: 2 },
  5: { name: 'int16', size: 2 },
  6: { name: 'int32', size: 4 },
  7: { name: 'int64', size: 8 },
  8: { name: 'string', size: 1 },
  9: { name: 'bool', size: 1 },
  10: { name: 'float16', size: 2 },
  11: { name: 'float64', size: 8 },
  12: { name: 'uint32', size: 4 },
  13: { name: 'uint64', size: 8 },
  14: { name: 'complex64', size: 8 },
  15: { name: 'complex128', size: 16 },
  16: { name: 'bfloat16', size: 2 },
};

export interface OnnxLimits {
  /** Model file plus external data, and any single tensor's declared size. */
  maxBytes: number;
  /** Nodes in the graph, its subgraphs and functions. */
  maxNodes: number;
}

export interface ValueInfo {
  name: string;
  /** Element type name (float32, int64, …) or "unknown". */
  dtype: string;
  /** Dimensions: a number, a symbolic name (dynamic), or null when unknown. */
  shape: (number | string | null)[];
}

export interface ExternalDataRef {
  tensor: string;
  /** Run-relative path of the external file. */
  file: string;
  offset: number;
  length: number;
}

export interface OnnxInspection {
  rel: string;
  fileBytes: number;
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opset: number | null;
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: number;
  /** Elements in all initializers. */
  parameters: number;
  nodes: number;
  externalData: ExternalDataRef[];
  externalBytes: number;
}

function toNumber(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

function toBig(v: LongLike): bigint {
  return typeof v === 'number' ? BigInt(Math.trunc(v)) : BigInt(v.toString());
}

function unsafe(rel: string, message: string): GateError {
  return new GateError('UNSAFE_ARTIFACT', `${rel}: ${message}; refused before loading it in onnxruntime`, { file: rel, hostile: true });
}

/** Reads a varint at `p`; returns [value, next] (values beyond 2^53 come back imprecise but large). */
function varint(buf: Uint8Array, p: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= buf.length) return [Number.NaN, p];
    const b = buf[p++] as number;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, p];
    mul *= 128;
  }
  return [Number.NaN, p];
}

/**
 * Counts node entries of the top-level graph by walking the wire format, before decoding
 * allocates an object per node (a file of millions of empty nodes would exhaust memory first).
 * Returns null when the bytes do not have the expected structure (the decoder then reports it).
 */
export function countTopLevelNodes(buf: Uint8Array): number | null {
  const walk = (start: number, end: number, onField: (field: number, s: number, e: number) => void): boolean => {
    let p = start;
    while (p < end) {
      const [key, p1] = varint(buf, p);
      if (Number.isNaN(key)) return false;
      const field = Math.floor(key / 8);
      const wire = key % 8;
      p = p1;
      if (wire === 0) {
        const [, p2] = varint(buf, p);
        p = p2;
      } else if (wire === 1) p += 8;
      else if (wire === 5) p += 4;
      else if (wire === 2) {
        const [len, p2] = varint(buf, p);
        if (Number.isNaN(len) || p2 + len > end) return false;
        onField(field, p2, p2 + len);
        p = p2 + len;
      } else return false;
      if (p > end) return false;
    }
    return true;
  };
  let nodes: number | null = null;
  const ok = walk(0, buf.length, (field, s, e) => {
    if (field !== 7) return;
    let n = 0;
    if (walk(s, e, (f) => (f === 1 ? n++ : undefined))) nodes = (nodes ?? 0) + n;
  });
  return ok ? nodes : null;
}

/** Decodes an ONNX ModelProto, refusing bytes that are truncated or not ONNX at all. */
export function decodeOnnx(bytes: Uint8Array, rel: string, limits: OnnxLimits): ModelProto {
  if (bytes.length === 0) throw new GateError('PARSE_ERROR', `${rel} is empty; expected an ONNX model`, { file: rel });
  const topNodes = countTopLevelNodes(bytes);
  if (topNodes !== null && topNodes > limits.maxNodes) {
    throw unsafe(rel, `graph declares ${topNodes} nodes, more than the limit of ${limits.maxNodes} (limits.max_onnx_nodes)`);
  }
  let model: ModelProto;
  try {
    // a Buffer view makes protobufjs slice bytes fields as views; from a plain Uint8Array it copies them
    model = onnx.ModelProto.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const hint = /index out of range/.test(why) ? 'the protobuf is truncated' : 'the bytes are not an ONNX protobuf';
    throw new GateError('PARSE_ERROR', `${rel} is not a valid ONNX model: ${hint} (${why})`, { file: rel, cause: err });
  }
  const ir = toNumber(model.irVersion);
  if (!model.graph || ir < 1 || ir > 100 || (ir >= 3 && model.opsetImport.length === 0) || (model.graph.output ?? []).length === 0) {
    throw new GateError('PARSE_ERROR', `${rel} is not an ONNX model (ir_version ${ir}, ${model.graph ? 'no graph outputs' : 'no graph'}, ${model.opsetImport.length} opset imports)`, {
      file: rel,
    });
  }
  return model;
}

function valueInfo(v: IValueInfoProto): ValueInfo {
  const t = v.type?.tensorType;
  const dtype = t?.elemType ? (ONNX_DTYPES[t.elemType]?.name ?? `onnx-type-${t.elemType}`) : 'unknown';
  const shape = (t?.shape?.dim ?? []).map((d) => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue !== null && d.dimValue !== undefined) {
      const n = toNumber(d.dimValue);
      return n > 0 ? n : null;
    }
    return null;
  });
  return { name: v.name ?? '', dtype, shape };
}

interface TensorSite {
  tensor: ITensorProto;
  where: string;
}

/** Every tensor stored in a graph: initializers, sparse initializers, Constant attributes; recursing into subgraphs. */
function collect(graph: IGraphProto, rel: string, limits: OnnxLimits, state: { nodes: number; depth: number; tensors: TensorSite[] }): void {
  if (state.depth > 32) throw unsafe(rel, 'subgraphs are nested more than 32 levels deep');
  for (const t of graph.initializer ?? []) state.tensors.push({ tensor: t, where: 'initializer' });
  for (const s of graph.sparseInitializer ?? []) {
    if (s.values) state.tensors.push({ tensor: s.values, where: 'sparse initializer values' });
    if (s.indices) state.tensors.push({ tensor: s.indices, where: 'sparse initializer indices' });
  }
  for (const node of graph.node ?? []) {
    state.nodes++;
    if (state.nodes > limits.maxNodes) {
      throw unsafe(rel, `graph holds more than ${limits.maxNodes} nodes (limits.max_onnx_nodes), counting subgraphs`);
    }
    for (const a of node.attribute ?? []) {
      const where = `attribute "${a.name ?? ''}" of node "${node.name || node.opType || '?'}"`;
      if (a.t) state.tensors.push({ tensor: a.t, where });
      for (const t of a.tensors ?? []) state.tensors.push({ tensor: t, where });
      const subs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
      for (const g of subs) {
        state.depth++;
        collect(g, rel, limits, state);
        state.depth--;
      }
    }
  }
}

/** Bytes a tensor's data really occupies in the file (external tensors: undefined, checked separately). */
function heldBytes(t: ITensorProto, elemSize: number): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  const typed =
    (t.floatData?.length ?? 0) * 4 +
    (t.doubleData?.length ?? 0) * 8 +
    (t.int64Data?.length ?? 0) * 8 +
    (t.uint64Data?.length ?? 0) * 8 +
    // int32_data carries int8/int16/uint8/uint16/bool/float16 too: one entry per element
    (t.int32Data?.length ?? 0) * Math.min(4, elemSize) +
    (t.stringData?.length ?? 0);
  return typed;
}

function externalEntries(t: ITensorProto): Map<string, string> {
  return new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
}

/** Proves an external-data location stays in the model's folder, never following a link. */
async function checkExternalLocation(run: RunArtifacts, modelRel: string, tensor: string, location: string): Promise<{ rel: string; size: number }> {
  const what = `tensor "${tensor}" stores its data in external file "${location}"`;
  if (location.length === 0) throw unsafe(modelRel, `tensor "${tensor}" declares external data without a location`);
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
      throw new GateError('NOT_FOUND', `${modelRel}: ${what}, which does not exist next to the model`, { file: modelRel });
    }
    if (st.isSymbolicLink()) throw unsafe(modelRel, `${what}, which is a symlink (${parts.slice(0, i + 1).join('/')})`);
    if (i < parts.length - 1 && !st.isDirectory()) throw new GateError('NOT_FOUND', `${modelRel}: ${what}, whose folder is not a directory`, { file: modelRel });
    if (i === parts.length - 1 && !st.isFile()) throw unsafe(modelRel, `${what}, which is not a regular file`);
  }
  const rel = modelDir === '.' ? parts.join('/') : `${modelDir}/${parts.join('/')}`;
  // confined open (O_NOFOLLOW) also records the file for the evaluation manifest
  const f = await run.openFile(rel);
  await f.handle.close();
  return { rel, size: f.size };
}

/**
 * Inspects a decoded model. `run`/`modelRel` locate external data; every refusal is a hostile
 * GateError naming the tensor.
 */
export async function inspectModel(model: ModelProto, run: RunArtifacts, modelRel: string, fileBytes: number, limits: OnnxLimits): Promise<OnnxInspection> {
  const graph = model.graph as IGraphProto;
  const state = { nodes: 0, depth: 0, tensors: [] as TensorSite[] };
  collect(graph, modelRel, limits, state);
  // model-local functions: their nodes count, and their Constant tensors are checked like the graph's
  for (const f of model.functions ?? []) collect({ node: f.node ?? [] }, modelRel, limits, state);
  if (state.nodes > limits.maxNodes) throw unsafe(modelRel, `model holds ${state.nodes} nodes, more than the limit of ${limits.maxNodes} (limits.max_onnx_nodes)`);

  const externalData: ExternalDataRef[] = [];
  const externalFiles = new Map<string, number>();
  let parameters = 0;
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  for (const { tensor: t, where } of state.tensors) {
    const name = t.name || '(unnamed)';
    const dt = ONNX_DTYPES[t.dataType ?? 0];
    if (!dt) throw new GateError('PARSE_ERROR', `${modelRel}: tensor "${name}" (${where}) has unknown data type ${t.dataType}`, { file: modelRel });
    let elements = 1n;
    for (const d of t.dims ?? []) {
      const v = toBig(d);
      if (v < 0n) throw unsafe(modelRel, `tensor "${name}" (${where}) declares a negative dimension ${v}`);
      elements *= v;
    }
    const dimsText = `[${(t.dims ?? []).map((d) => toBig(d).toString()).join(', ')}]`;
    const declared = elements * BigInt(dt.size);
    if (declared > BigInt(limits.maxBytes)) {
      throw unsafe(modelRel, `tensor "${name}" (${where}) declares dims ${dimsText} ${dt.name} = ${declared} bytes, more than the ${limits.maxBytes}-byte cap`);
    }
    const claim = Number(declared);
    if (where === 'initializer') parameters += Number(elements);
    if (t.dataLocation === 1) {
      const ext = externalEntries(t);
      const location = ext.get('location') ?? '';
      const { rel, size } = await checkExternalLocation(run, modelRel, name, location);
      const offset = Number(ext.get('offset') ?? '0');
      const length = ext.has('length') ? Number(ext.get('length')) : size - offset;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw unsafe(modelRel, `tensor "${name}" has an invalid external offset/length (${ext.get('offset')}/${ext.get('length')})`);
      }
      if (offset + length > size) {
        throw unsafe(modelRel, `tensor "${name}" claims bytes ${offset}..${offset + length} of ${rel}, which holds only ${size} bytes`);
      }
      if (dt.name !== 'string' && length < claim) {
        throw unsafe(modelRel, `tensor "${name}" declares dims ${dimsText} ${dt.name} = ${claim} bytes but its external data holds only ${length}`);
      }
      externalFiles.set(rel, size);
      externalData.push({ tensor: name, file: rel, offset, length });
      continue;
    }
    if (dt.name === 'string') {
      if ((t.stringData?.length ?? 0) < Number(elements)) {
        throw unsafe(modelRel, `string tensor "${name}" declares ${elements} elements but holds ${t.stringData?.length ?? 0}`);
      }
      continue;
    }
    const held = heldBytes(t, dt.size);
    if (held < claim) {
      throw unsafe(modelRel, `tensor "${name}" (${where}) declares dims ${dimsText} ${dt.name} = ${claim} bytes but the file holds only ${held} bytes for it`);
    }
  }
  const externalBytes = [...externalFiles.values()].reduce((a, b) => a + b, 0);
  if (fileBytes + externalBytes > limits.maxBytes) {
    throw new GateError('TOO_LARGE', `${modelRel} with its external data is ${fileBytes + externalBytes} bytes, over limits.max_onnx_bytes (${limits.maxBytes})`, {
      file: modelRel,
    });
  }
  const opsets = model.opsetImport.map((o) => ({ domain: o.domain || 'ai.onnx', version: toNumber(o.version) }));
  return {
    rel: modelRel,
    fileBytes,
    irVersion: toNumber(model.irVersion),
    opset: opsets.find((o) => o.domain === 'ai.onnx')?.version ?? null,
    opsets,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: (graph.input ?? []).filter((v) => !initNames.has(v.name ?? '')).map(valueInfo),
    outputs: (graph.output ?? []).map(valueInfo),
    initializers: (graph.initializer ?? []).length,
    parameters,
    nodes: state.nodes,
    externalData,
    externalBytes,
  };
}

export interface LoadedOnnx {
  info: OnnxInspection;
  /** The bytes that were inspected (what onnxruntime must load, unless external data needs the path). */
  bytes: Uint8Array;
  absolutePath: string;
}

/** Reads (size-capped), decodes and inspects the run's ONNX model. */
export async function inspectOnnxFile(run: RunArtifacts, rel: string, limits: OnnxLimits): Promise<LoadedOnnx> {
  const f = await run.openFile(rel);
  let bytes: Uint8Array;
  try {
    if (f.size > limits.maxBytes) {
      throw new GateError('TOO_LARGE', `${f.rel} is ${f.size} bytes, over limits.max_onnx_bytes (${limits.maxBytes})`, { file: f.rel });
    }
    bytes = new Uint8Array(f.size);
    let off = 0;
    while (off < f.size) {
      const { bytesRead } = await f.handle.read(bytes, off, f.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== f.size) throw new GateError('UNREADABLE', `${f.rel} shrank while being read`, { file: f.rel });
  } finally {
    await f.handle.close();
  }
  const model = decodeOnnx(bytes, f.rel, limits);
  const info = await inspectModel(model, run, f.rel, f.size, limits);
  return { info, bytes, absolutePath: f.absolutePath };
}

/** One line for evidence: what the model is. */
export function describeModel(info: OnnxInspection): string {
  const io = (vs: ValueInfo[]) => vs.map((v) => `"${v.name}" ${v.dtype} [${v.shape.map((d) => d ?? '?').join(', ')}]`).join(', ');
  return (
    `${info.rel}: ONNX IR ${info.irVersion}, opset ${info.opset ?? 'none'}${info.producer ? `, from ${info.producer}` : ''}, ` +
    `${info.nodes} nodes, ${info.parameters.toLocaleString('en-US')} parameters in ${info.initializers} initializers` +
    `${info.externalData.length ? `, external data: ${[...new Set(info.externalData.map((e) => e.file))].join(', ')}` : ''}; ` +
    `inputs ${io(info.inputs)}; outputs ${io(info.outputs)}`
  );
}
