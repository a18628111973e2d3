/** Hand-built ONNX models for tests (onnx-proto encode): valid shells around hostile tensors. */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export function valueInfo(name: string, dims: (number | string)[], elemType = 1): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface BuildOptions {
  initializers?: onnxProto.onnx.ITensorProto[];
  nodes?: onnxProto.onnx.INodeProto[];
  inputs?: onnxProto.onnx.IValueInfoProto[];
  outputs?: onnxProto.onnx.IValueInfoProto[];
}

/** A model (opset 13) around `graph`. */
export function encodeModel(graph: onnxProto.onnx.IGraphProto, irVersion = 7): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion,
    producerName: 'readiness-gate tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  }).finish();
}

/** An Identity model [N, 4] → [N, 4] plus whatever tensors/nodes the test adds. */
export function buildModel(o: BuildOptions = {}): Uint8Array {
  return encodeModel({
    name: 'g',
    node: o.nodes ?? [{ opType: 'Identity', input: ['x'], output: ['y'], name: 'id' }],
    input: o.inputs ?? [valueInfo('x', ['batch', 4])],
    output: o.outputs ?? [valueInfo('y', ['batch', 4])],
    initializer: o.initializers ?? [],
  });
}

export function externalTensor(
  name: string,
  location: string,
  dims: number[],
  extra: Record<string, string> = {},
): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: 1,
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      ...Object.entries(extra).map(([key, value]) => ({ key, value })),
    ],
  };
}

// ---- raw protobuf pieces, for hostile models too large or too deep to build as JS objects

function varintBytes(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** A length-delimited field: key (field, wire type 2), length, bytes. Appending it to a message's bytes adds that field. */
export function ldField(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varintBytes(field * 8 + 2), ...varintBytes(bytes.length)]), bytes]);
}

/** `n` empty NodeProto entries of a GraphProto (field 1, length 0): 2 bytes each, no objects built. */
export function emptyNodes(n: number): Buffer {
  return Buffer.alloc(2 * n, Buffer.from([0x0a, 0x00]));
}

/** Model bytes around a main graph whose only node is an If with `thenGraph` (raw GraphProto bytes) as its then_branch. */
export function modelWithIf(thenGraph: Uint8Array): Buffer {
  const branch = (name: string, g: Uint8Array) =>
    Buffer.concat([onnx.AttributeProto.encode({ name, type: 5 }).finish(), ldField(6, g)]);
  const elseGraph = onnx.GraphProto.encode({
    name: 'else',
    node: [{ opType: 'Identity', input: ['x'], output: ['e'] }],
    output: [valueInfo('e', ['batch', 4])],
  }).finish();
  const node = Buffer.concat([
    onnx.NodeProto.encode({ opType: 'If', name: 'if', input: ['cond'], output: ['y'] }).finish(),
    ldField(5, branch('then_branch', thenGraph)),
    ldField(5, branch('else_branch', elseGraph)),
  ]);
  const graph = Buffer.concat([
    onnx.GraphProto.encode({
      name: 'g',
      input: [valueInfo('x', ['batch', 4]), valueInfo('cond', [], 9)],
      output: [valueInfo('y', ['batch', 4])],
    }).finish(),
    ldField(1, node),
  ]);
  return Buffer.concat([
    onnx.ModelProto.encode({
      irVersion: 7,
      producerName: 'readiness-gate tests',
      opsetImport: [{ domain: '', version: 13 }],
    }).finish(),
    ldField(7, graph),
  ]);
}

/** A then_branch graph holding `n` empty nodes (the node bomb: tens of millions cost 2 bytes each on disk). */
export function nodeBombGraph(n: number): Buffer {
  return Buffer.concat([
    emptyNodes(n),
    onnx.GraphProto.encode({ name: 'bomb', output: [valueInfo('t', ['batch', 4])] }).finish(),
  ]);
}

/** A then_branch whose If nodes nest `depth` graphs deep. */
export function nestedGraph(depth: number): Buffer {
  const leaf = onnx.GraphProto.encode({
    name: 'leaf',
    node: [{ opType: 'Identity', input: ['x'], output: ['t'] }],
    output: [valueInfo('t', ['batch', 4])],
  }).finish();
  let g: Buffer = Buffer.from(leaf);
  const head = onnx.NodeProto.encode({ opType: 'If', input: ['cond'], output: ['t'] }).finish();
  const attrHead = onnx.AttributeProto.encode({ name: 'then_branch', type: 5 }).finish();
  const out = onnx.GraphProto.encode({ output: [valueInfo('t', ['batch', 4])] }).finish();
  for (let i = 1; i < depth; i++) {
    const attr = Buffer.concat([attrHead, ldField(6, g)]);
    g = Buffer.concat([ldField(1, Buffer.concat([head, ldField(5, attr)])), out]);
  }
  return g;
}

/**
 * A runtime memory bomb that onnxruntime loads without complaint: y = x + sum(ConstantOfShape([elements]) of 1.0),
 * so `elements` × 4 bytes are allocated and written when the graph runs (or is constant-folded).
 */
export function memoryBombModel(elements: number): Uint8Array {
  return encodeModel(
    {
      name: 'memory-bomb',
      node: [
        {
          opType: 'Constant',
          output: ['shape'],
          attribute: [
            { name: 'value', type: 4, t: { name: 'shape_t', dims: [1], dataType: 7, int64Data: [elements] } },
          ],
        },
        {
          opType: 'ConstantOfShape',
          input: ['shape'],
          output: ['big'],
          attribute: [{ name: 'value', type: 4, t: { name: 'one', dims: [1], dataType: 1, floatData: [1] } }],
        },
        { opType: 'ReduceSum', input: ['big'], output: ['s'], attribute: [{ name: 'keepdims', type: 2, i: 0 }] },
        { opType: 'Add', input: ['x', 's'], output: ['y'] },
      ],
      input: [valueInfo('x', ['batch', 1, 8, 8])],
      output: [valueInfo('y', ['batch', 1, 8, 8])],
    },
    8,
  );
}

/** A model that never finishes running: a Loop of 10^15 Identity iterations. */
export function endlessLoopModel(): Uint8Array {
  const body = {
    name: 'body',
    node: [
      { opType: 'Identity', input: ['cond_in'], output: ['cond_out'] },
      { opType: 'Identity', input: ['v_in'], output: ['v_out'] },
    ],
    input: [valueInfo('i', [], 7), valueInfo('cond_in', [], 9), valueInfo('v_in', ['batch', 1, 8, 8])],
    output: [valueInfo('cond_out', [], 9), valueInfo('v_out', ['batch', 1, 8, 8])],
  };
  return encodeModel(
    {
      name: 'endless',
      node: [
        {
          opType: 'Constant',
          output: ['m'],
          attribute: [{ name: 'value', type: 4, t: { name: 'm_t', dims: [], dataType: 7, int64Data: [1e15] } }],
        },
        {
          opType: 'Constant',
          output: ['c'],
          attribute: [{ name: 'value', type: 4, t: { name: 'c_t', dims: [], dataType: 9, int32Data: [1] } }],
        },
        { opType: 'Loop', input: ['m', 'c', 'x'], output: ['y'], attribute: [{ name: 'body', type: 5, g: body }] },
      ],
      input: [valueInfo('x', ['batch', 1, 8, 8])],
      output: [valueInfo('y', ['batch', 1, 8, 8])],
    },
    8,
  );
}

/** y = x + c, with c a Constant whose sparse_value keeps its values in external file `location`. */
export function sparseExternalModel(location: string): Uint8Array {
  return encodeModel(
    {
      name: 'g',
      node: [
        {
          opType: 'Constant',
          name: 'c',
          output: ['c'],
          attribute: [
            {
              name: 'sparse_value',
              type: 11,
              sparseTensor: {
                dims: [1, 4],
                values: {
                  name: 'sparse_vals',
                  dims: [1],
                  dataType: 1,
                  dataLocation: 1,
                  externalData: [
                    { key: 'location', value: location },
                    { key: 'length', value: '4' },
                  ],
                },
                indices: { name: 'sparse_idx', dims: [1], dataType: 7, int64Data: [0] },
              },
            },
          ],
        },
        { opType: 'Add', input: ['x', 'c'], output: ['y'] },
      ],
      input: [valueInfo('x', [1, 4])],
      output: [valueInfo('y', [1, 4])],
    },
    8,
  );
}
