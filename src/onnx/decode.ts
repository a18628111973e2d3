/**
 * The part of ONNX inspection that touches protobuf: measure on the wire, decode, and check every
 * tensor's declared size against what the file holds. Pure (no files, no onnxruntime); it runs in
 * the decode worker thread under a V8 heap cap (decode-worker.ts), never on the app's event loop.
 * External-data locations come back unverified: the main thread proves them against the run.
 */
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import { GateError } from '../errors.js';
import { DEFAULT_POLICY, type Policy } from '../policy/schema.js';
import { measureOnnx, type OnnxCounts } from './wire.js';

type IAttributeProto = onnxProto.onnx.IAttributeProto;

const { onnx } = onnxProto;
export type ModelProto = InstanceType<typeof onnx.ModelProto>;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IGraphProto = onnxProto.onnx.IGraphProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type ISparseTensorProto = onnxProto.onnx.ISparseTensorProto;
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
  maxAttributes?: number;
  maxTensors?: number;
  maxDepth?: number;
  /** V8 heap cap of the decode worker thread, MB. */
  heapMb?: number;
}

const L = DEFAULT_POLICY.limits;

/** The ONNX caps of a policy. */
export function onnxLimits(policy: Policy): Required<OnnxLimits> {
  const l = policy.limits;
  return {
    maxBytes: l.max_onnx_bytes,
    maxNodes: l.max_onnx_nodes,
    maxAttributes: l.max_onnx_attributes,
    maxTensors: l.max_onnx_tensors,
    maxDepth: l.max_onnx_graph_depth,
    heapMb: l.onnx_decode_heap_mb,
  };
}

export function fullLimits(limits: OnnxLimits): Required<OnnxLimits> {
  return {
    maxBytes: limits.maxBytes,
    maxNodes: limits.maxNodes,
    maxAttributes: limits.maxAttributes ?? L.max_onnx_attributes,
    maxTensors: limits.maxTensors ?? L.max_onnx_tensors,
    maxDepth: limits.maxDepth ?? L.max_onnx_graph_depth,
    heapMb: limits.heapMb ?? L.onnx_decode_heap_mb,
  };
}

export interface ValueInfo {
  name: string;
  /** Element type name (float32, int64, …) or "unknown". */
  dtype: string;
  /** Dimensions: a number, a symbolic name (dynamic), or null when unknown. */
  shape: (number | string | null)[];
}

/** An external-data reference as the model declares it, not yet proved to stay in the run. */
export interface DeclaredExternal {
  tensor: string;
  where: string;
  location: string;
  offset: string | null;
  length: string | null;
  /** Bytes the tensor's dims × dtype need (0 for strings). */
  claim: number;
}

/** What decoding learns; the main thread adds the verified external data. */
export interface DecodedInspection {
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
  /** Measured on the wire before decoding. */
  counts: OnnxCounts;
  declaredExternal: DeclaredExternal[];
}

function toNumber(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

function toBig(v: LongLike): bigint {
  return typeof v === 'number' ? BigInt(Math.trunc(v)) : BigInt(v.toString());
}

export function unsafe(rel: string, message: string): GateError {
  return new GateError('UNSAFE_ARTIFACT', `${rel}: ${message}; refused before loading it in onnxruntime`, {
    file: rel,
    hostile: true,
  });
}

/**
 * Measures the model on the wire (counts over every subgraph, depth limit), then decodes it,
 * refusing bytes that are truncated or not ONNX at all.
 */
export function decodeOnnx(
  bytes: Uint8Array,
  rel: string,
  limits: OnnxLimits,
): { model: ModelProto; counts: OnnxCounts; functionDefaults: FunctionDefaults[] } {
  if (bytes.length === 0) throw new GateError('PARSE_ERROR', `${rel} is empty; expected an ONNX model`, { file: rel });
  const full = fullLimits(limits);
  const { counts, functionDefaults: ranges } = measureOnnx(bytes, rel, full);
  let model: ModelProto;
  const functionDefaults: FunctionDefaults[] = [];
  try {
    // a Buffer view makes protobufjs slice bytes fields as views; from a plain Uint8Array it copies them
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    model = onnx.ModelProto.decode(buf);
    for (const r of ranges) {
      const fn = model.functions[r.functionIndex]?.name ?? `#${r.functionIndex}`;
      functionDefaults.push({ fn, attribute: onnx.AttributeProto.decode(buf.subarray(r.start, r.end)) });
    }
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const hint = /index out of range/.test(why) ? 'the protobuf is truncated' : 'the bytes are not an ONNX protobuf';
    throw new GateError('PARSE_ERROR', `${rel} is not a valid ONNX model: ${hint} (${why})`, { file: rel, cause: err });
  }
  const ir = toNumber(model.irVersion);
  if (
    !model.graph ||
    ir < 1 ||
    ir > 100 ||
    (ir >= 3 && model.opsetImport.length === 0) ||
    (model.graph.output ?? []).length === 0
  ) {
    throw new GateError(
      'PARSE_ERROR',
      `${rel} is not an ONNX model (ir_version ${ir}, ${model.graph ? 'no graph outputs' : 'no graph'}, ${model.opsetImport.length} opset imports)`,
      {
        file: rel,
      },
    );
  }
  return { model, counts, functionDefaults };
}

/** One default attribute value of a model-local function (FunctionProto.attribute_proto). */
export interface FunctionDefaults {
  fn: string;
  attribute: IAttributeProto;
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

function pushSparse(state: { tensors: TensorSite[] }, s: ISparseTensorProto, where: string): void {
  if (s.values) state.tensors.push({ tensor: s.values, where: `${where} values` });
  if (s.indices) state.tensors.push({ tensor: s.indices, where: `${where} indices` });
}

/**
 * Every tensor-carrying field of a graph: initializers, sparse initializers, node attributes
 * (Constant `value`/`sparse_value`, any `t`/`tensors`/`sparse_tensor(s)`), recursing into subgraphs.
 */
function collect(
  graph: IGraphProto,
  rel: string,
  maxDepth: number,
  state: { depth: number; tensors: TensorSite[] },
): void {
  if (state.depth > maxDepth)
    throw unsafe(rel, `subgraphs are nested more than ${maxDepth} levels deep (limits.max_onnx_graph_depth)`);
  for (const t of graph.initializer ?? [])
    state.tensors.push({ tensor: t, where: state.depth === 1 ? 'initializer' : 'subgraph initializer' });
  for (const s of graph.sparseInitializer ?? []) pushSparse(state, s, 'sparse initializer');
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      const where = `attribute "${a.name ?? ''}" of node "${node.name || node.opType || '?'}"`;
      if (a.t) state.tensors.push({ tensor: a.t, where });
      for (const t of a.tensors ?? []) state.tensors.push({ tensor: t, where });
      if (a.sparseTensor) pushSparse(state, a.sparseTensor, `sparse tensor ${where}`);
      for (const s of a.sparseTensors ?? []) pushSparse(state, s, `sparse tensor ${where}`);
      for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) {
        state.depth++;
        collect(g, rel, maxDepth, state);
        state.depth--;
      }
    }
  }
}

/** Bytes a tensor's data really occupies in the file (external tensors: checked separately). */
function heldBytes(t: ITensorProto, elemSize: number): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  return (
    (t.floatData?.length ?? 0) * 4 +
    (t.doubleData?.length ?? 0) * 8 +
    (t.int64Data?.length ?? 0) * 8 +
    (t.uint64Data?.length ?? 0) * 8 +
    // int32_data carries int8/int16/uint8/uint16/bool/float16 too: one entry per element
    (t.int32Data?.length ?? 0) * Math.min(4, elemSize) +
    (t.stringData?.length ?? 0)
  );
}

/** Checks every stored tensor of a decoded model; returns what the model is and its external references. */
export function inspectDecoded(
  model: ModelProto,
  counts: OnnxCounts,
  rel: string,
  limits: OnnxLimits,
  functionDefaults: readonly FunctionDefaults[] = [],
): DecodedInspection {
  const full = fullLimits(limits);
  const graph = model.graph as IGraphProto;
  const state = { depth: 1, tensors: [] as TensorSite[] };
  collect(graph, rel, full.maxDepth, state);
  // model-local functions: their Constant tensors, and the tensors of their default attribute values, are checked like the graph's
  for (const f of model.functions ?? []) collect({ node: f.node ?? [] }, rel, full.maxDepth, state);
  for (const d of functionDefaults) {
    const node = { name: `default of function ${d.fn}`, opType: 'FunctionProto', attribute: [d.attribute] };
    collect({ node: [node] }, rel, full.maxDepth, state);
  }
  // training-info graphs hold initializers too (onnxruntime ignores them, but they are bytes of this file)
  for (const ti of model.trainingInfo ?? []) {
    for (const g of [ti.initialization, ti.algorithm]) if (g) collect(g, rel, full.maxDepth, state);
  }

  const declaredExternal: DeclaredExternal[] = [];
  let parameters = 0;
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  for (const { tensor: t, where } of state.tensors) {
    const name = t.name || '(unnamed)';
    const dt = ONNX_DTYPES[t.dataType ?? 0];
    if (!dt)
      throw new GateError('PARSE_ERROR', `${rel}: tensor "${name}" (${where}) has unknown data type ${t.dataType}`, {
        file: rel,
      });
    let elements = 1n;
    for (const d of t.dims ?? []) {
      const v = toBig(d);
      if (v < 0n) throw unsafe(rel, `tensor "${name}" (${where}) declares a negative dimension ${v}`);
      elements *= v;
    }
    const dimsText = `[${(t.dims ?? []).map((d) => toBig(d).toString()).join(', ')}]`;
    const declared = elements * BigInt(dt.size);
    if (declared > BigInt(full.maxBytes)) {
      throw unsafe(
        rel,
        `tensor "${name}" (${where}) declares dims ${dimsText} ${dt.name} = ${declared} bytes, more than the ${full.maxBytes}-byte cap`,
      );
    }
    const claim = Number(declared);
    if (where === 'initializer') parameters += Number(elements);
    if (t.dataLocation === 1) {
      const ext = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
      declaredExternal.push({
        tensor: name,
        where,
        location: ext.get('location') ?? '',
        offset: ext.get('offset') ?? null,
        length: ext.get('length') ?? null,
        claim: dt.name === 'string' ? 0 : claim,
      });
      continue;
    }
    if (dt.name === 'string') {
      if ((t.stringData?.length ?? 0) < Number(elements)) {
        throw unsafe(
          rel,
          `string tensor "${name}" declares ${elements} elements but holds ${t.stringData?.length ?? 0}`,
        );
      }
      continue;
    }
    const held = heldBytes(t, dt.size);
    if (held < claim) {
      throw unsafe(
        rel,
        `tensor "${name}" (${where}) declares dims ${dimsText} ${dt.name} = ${claim} bytes but the file holds only ${held} bytes for it`,
      );
    }
  }
  const opsets = model.opsetImport.map((o) => ({ domain: o.domain || 'ai.onnx', version: toNumber(o.version) }));
  return {
    irVersion: toNumber(model.irVersion),
    opset: opsets.find((o) => o.domain === 'ai.onnx')?.version ?? null,
    opsets,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: (graph.input ?? []).filter((v) => !initNames.has(v.name ?? '')).map(valueInfo),
    outputs: (graph.output ?? []).map(valueInfo),
    initializers: (graph.initializer ?? []).length,
    parameters,
    nodes: counts.nodes,
    counts,
    declaredExternal,
  };
}

// ---- weights for provenance: digests of the main graph's floating-point initializers

const FLOAT_TYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);
/** Keep float32 values (for the BatchNorm-folding comparison) of tensors up to this many elements. */
const MAX_FOLD_VALUES = 32 * 1024 * 1024;

export interface InitializerDigest {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  /** sha256 of the row-major little-endian bytes; null for external tensors (the main thread reads those). */
  digest: string | null;
  values?: Float32Array;
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function float32Copy(b: Uint8Array): Float32Array {
  const copy = Uint8Array.from(b);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

export function keepsFoldValues(dtype: string, numel: number): boolean {
  return dtype === 'float32' && numel <= MAX_FOLD_VALUES;
}

/** The raw little-endian bytes of an initializer held inside the model (raw_data or typed fields). */
function initializerBytes(t: ITensorProto, dtype: string): Uint8Array | null {
  if (t.rawData && t.rawData.length > 0) return t.rawData;
  if (dtype === 'float32' && t.floatData && t.floatData.length > 0)
    return new Uint8Array(Float32Array.from(t.floatData).buffer);
  if (dtype === 'float64' && t.doubleData && t.doubleData.length > 0)
    return new Uint8Array(Float64Array.from(t.doubleData).buffer);
  if ((dtype === 'float16' || dtype === 'bfloat16') && t.int32Data && t.int32Data.length > 0)
    return new Uint8Array(Uint16Array.from(t.int32Data).buffer);
  return null;
}

export function initializerDigests(model: ModelProto): InitializerDigest[] {
  const out: InitializerDigest[] = [];
  for (const t of model.graph?.initializer ?? []) {
    const dtype = ONNX_DTYPES[t.dataType ?? 0]?.name ?? 'unknown';
    if (!FLOAT_TYPES.has(dtype)) continue;
    const shape = (t.dims ?? []).map(toNumber);
    const numel = shape.reduce((a, b) => a * b, 1);
    const name = t.name ?? '';
    if (t.dataLocation === 1) {
      out.push({ name, dtype, shape, numel, digest: null });
      continue;
    }
    const bytes = initializerBytes(t, dtype);
    if (!bytes) continue;
    out.push({
      name,
      dtype,
      shape,
      numel,
      digest: sha256Hex(bytes),
      ...(keepsFoldValues(dtype, numel) ? { values: float32Copy(bytes) } : {}),
    });
  }
  return out;
}
