/** Hand-built ONNX models for tests (onnx-proto encode): valid shells around hostile tensors. */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export function valueInfo(name: string, dims: (number | string)[], elemType = 1): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export interface BuildOptions {
  initializers?: onnxProto.onnx.ITensorProto[];
  nodes?: onnxProto.onnx.INodeProto[];
  inputs?: onnxProto.onnx.IValueInfoProto[];
  outputs?: onnxProto.onnx.IValueInfoProto[];
}

/** An Identity model [N, 4] → [N, 4] plus whatever tensors/nodes the test adds. */
export function buildModel(o: BuildOptions = {}): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 7,
    producerName: 'readiness-gate tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: o.nodes ?? [{ opType: 'Identity', input: ['x'], output: ['y'], name: 'id' }],
      input: o.inputs ?? [valueInfo('x', ['batch', 4])],
      output: o.outputs ?? [valueInfo('y', ['batch', 4])],
      initializer: o.initializers ?? [],
    },
  }).finish();
}

export function externalTensor(name: string, location: string, dims: number[], extra: Record<string, string> = {}): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: 1,
    dataLocation: 1,
    externalData: [{ key: 'location', value: location }, ...Object.entries(extra).map(([key, value]) => ({ key, value }))],
  };
}
