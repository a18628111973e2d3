/**
 * Measures an ONNX model on the protobuf wire, before anything decodes it: nodes, attributes and
 * tensors over the main graph, every subgraph (If/Loop/Scan bodies, graph attributes of any node,
 * at any depth), model-local functions and training-info graphs. Nothing is materialised: the
 * scan walks length-delimited fields in place and skips tensor payloads in one step, so a file of
 * tens of millions of empty nodes costs a linear pass over its bytes, not an object per node.
 * Recursion is bounded by the depth limit, which is checked before descending.
 *
 * Field numbers are onnx.proto's (ModelProto, GraphProto, NodeProto, AttributeProto,
 * SparseTensorProto, TrainingInfoProto, FunctionProto).
 */
import { GateError } from '../errors.js';

export interface OnnxCounts {
  nodes: number;
  /** Nodes inside subgraphs (graph attributes), at any depth. */
  subgraphNodes: number;
  attributes: number;
  tensors: number;
  graphs: number;
  /** Deepest graph nesting seen (the main graph is depth 1). */
  depth: number;
}

export interface WireLimits {
  maxNodes: number;
  maxAttributes: number;
  maxTensors: number;
  maxDepth: number;
}

/**
 * Where a function's default attribute values (FunctionProto.attribute_proto) sit in the file:
 * the protobuf decoder predates that field and skips it, onnxruntime does not, so the inspection
 * decodes these ranges itself to check the tensors they carry.
 */
export interface FunctionDefaultRange {
  /** Index of the function in ModelProto.functions. */
  functionIndex: number;
  start: number;
  end: number;
}

/** Thrown inside the scan on bytes that are not well-formed protobuf; the decoder then says what is wrong. */
class Malformed extends Error {}

const MODEL = { graph: 7, trainingInfo: 20, functions: 25 } as const;
const GRAPH = { node: 1, initializer: 5, sparseInitializer: 15 } as const;
const NODE = { attribute: 5 } as const;
const ATTRIBUTE = { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 } as const;
const SPARSE = { values: 1, indices: 2 } as const;
const TRAINING = { initialization: 1, algorithm: 2 } as const;
const FUNCTION = { node: 7, attributeProto: 11 } as const;

/** Reads a varint at `p`; returns [value, next]. Values past 2^53 come back imprecise but large. */
function varint(buf: Uint8Array, p: number, end: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= end) throw new Malformed();
    const b = buf[p++] as number;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, p];
    mul *= 128;
  }
  throw new Malformed();
}

/** Calls `onField` for each length-delimited field of the message in [start, end); skips the others. */
function eachField(
  buf: Uint8Array,
  start: number,
  end: number,
  onField: (field: number, s: number, e: number) => void,
): void {
  let p = start;
  while (p < end) {
    const [key, p1] = varint(buf, p, end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    p = p1;
    if (wire === 0) p = varint(buf, p, end)[1];
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const [len, p2] = varint(buf, p, end);
      if (p2 + len > end) throw new Malformed();
      onField(field, p2, p2 + len);
      p = p2 + len;
    } else throw new Malformed();
    if (p > end) throw new Malformed();
  }
}

function unsafe(rel: string, message: string): GateError {
  return new GateError('UNSAFE_ARTIFACT', `${rel}: ${message}; refused before decoding it`, {
    file: rel,
    hostile: true,
  });
}

/**
 * Counts the model's structure. Throws a hostile GateError when graphs nest deeper than the
 * limit (at once, before descending) or when a count is over its limit (after the full count,
 * so the evidence gives the real number). Returns `wellFormed: false` when the bytes are not
 * well-formed protobuf; the counts then cover the part before the defect.
 */
export function measureOnnx(
  buf: Uint8Array,
  rel: string,
  limits: WireLimits,
): { counts: OnnxCounts; wellFormed: boolean; functionDefaults: FunctionDefaultRange[] } {
  const counts: OnnxCounts = { nodes: 0, subgraphNodes: 0, attributes: 0, tensors: 0, graphs: 0, depth: 0 };
  const functionDefaults: FunctionDefaultRange[] = [];
  let functionIndex = -1;
  const tensor = (): void => {
    counts.tensors++;
  };
  const sparse = (s: number, e: number): void =>
    eachField(buf, s, e, (f) => {
      if (f === SPARSE.values || f === SPARSE.indices) tensor();
    });
  const attribute = (s: number, e: number, depth: number): void => {
    counts.attributes++;
    eachField(buf, s, e, (f, fs, fe) => {
      if (f === ATTRIBUTE.t || f === ATTRIBUTE.tensors) tensor();
      else if (f === ATTRIBUTE.g || f === ATTRIBUTE.graphs) graph(fs, fe, depth + 1);
      else if (f === ATTRIBUTE.sparseTensor || f === ATTRIBUTE.sparseTensors) sparse(fs, fe);
    });
  };
  const node = (s: number, e: number, depth: number): void => {
    counts.nodes++;
    if (depth > 1) counts.subgraphNodes++;
    eachField(buf, s, e, (f, fs, fe) => {
      if (f === NODE.attribute) attribute(fs, fe, depth);
    });
  };
  const graph = (s: number, e: number, depth: number): void => {
    if (depth > limits.maxDepth) {
      throw unsafe(rel, `subgraphs are nested more than ${limits.maxDepth} levels deep (limits.max_onnx_graph_depth)`);
    }
    counts.graphs++;
    counts.depth = Math.max(counts.depth, depth);
    eachField(buf, s, e, (f, fs, fe) => {
      if (f === GRAPH.node) node(fs, fe, depth);
      else if (f === GRAPH.initializer) tensor();
      else if (f === GRAPH.sparseInitializer) sparse(fs, fe);
    });
  };
  let wellFormed = true;
  try {
    eachField(buf, 0, buf.length, (f, s, e) => {
      if (f === MODEL.graph) graph(s, e, 1);
      else if (f === MODEL.trainingInfo) {
        eachField(buf, s, e, (tf, ts, te) => {
          if (tf === TRAINING.initialization || tf === TRAINING.algorithm) graph(ts, te, 1);
        });
      } else if (f === MODEL.functions) {
        // a function body is a graph of its own: its nodes sit at depth 1
        functionIndex++;
        eachField(buf, s, e, (ff, fs, fe) => {
          if (ff === FUNCTION.node) node(fs, fe, 1);
          else if (ff === FUNCTION.attributeProto) {
            attribute(fs, fe, 1);
            functionDefaults.push({ functionIndex, start: fs, end: fe });
          }
        });
      }
    });
  } catch (err) {
    if (!(err instanceof Malformed)) throw err;
    wellFormed = false;
  }
  const over = (n: number, max: number, what: string, field: string): void => {
    if (n > max)
      throw unsafe(
        rel,
        `the model declares ${String(n)} ${what}, more than the limit of ${String(max)} (limits.${field})`,
      );
  };
  const inSub =
    counts.subgraphNodes > 0 ? ` (${counts.subgraphNodes.toLocaleString('en-US')} of them inside subgraphs)` : '';
  over(counts.nodes, limits.maxNodes, `nodes${inSub}`, 'max_onnx_nodes');
  over(counts.attributes, limits.maxAttributes, 'node attributes', 'max_onnx_attributes');
  over(counts.tensors, limits.maxTensors, 'tensors', 'max_onnx_tensors');
  return { counts, wellFormed, functionDefaults };
}
