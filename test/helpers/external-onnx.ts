/** Moves the weights of a run's ONNX model into an external-data file, as torch.onnx.export does for models over 2 GB. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Rewrites `modelRel` so every initializer with raw data lives in `dataName` next to it. Returns the data file's run-relative path. */
export async function externaliseOnnxWeights(
  runDir: string,
  modelRel = 'models/production_model.onnx',
  dataName = 'production_model.onnx.data',
): Promise<string> {
  const file = path.join(runDir, modelRel);
  const model = onnx.ModelProto.decode(await readFile(file));
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    if (!t.rawData || t.rawData.length === 0) continue;
    const bytes = Buffer.from(Uint8Array.from(t.rawData));
    t.externalData = [
      { key: 'location', value: dataName },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    chunks.push(bytes);
    offset += bytes.length;
  }
  if (chunks.length === 0) throw new Error(`${modelRel} has no raw initializers to move`);
  await writeFile(file, onnx.ModelProto.encode(model).finish());
  await writeFile(path.join(path.dirname(file), dataName), Buffer.concat(chunks));
  return path.posix.join(path.posix.dirname(modelRel), dataName);
}
