/**
 * Shared by the ONNX benchmarks: a ResNet-18-sized run generated once into bench/.cache/ by
 * Debian's torch/torchvision (random weights, nothing downloaded), and a plain onnxruntime-node
 * baseline that does what a hand-written script would: load, loop, argmax.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { median } from './stats.js';

export { median };

const here = path.dirname(fileURLToPath(import.meta.url));
export const CACHE = path.join(here, '.cache');
export const RESNET_RUN = path.join(CACHE, 'resnet18-run');
export const SAMPLES = 256;

const GENERATE = String.raw`
import sys, numpy as np, torch, torchvision
from pathlib import Path
out = Path(sys.argv[1]); n = int(sys.argv[2])
for d in ("models", "data/test", "results/production"): (out / d).mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None).eval()
torch.onnx.export(model, torch.zeros(1, 3, 224, 224), str(out / "models/production_model.onnx"),
    opset_version=13, do_constant_folding=True, input_names=["input"], output_names=["logits"],
    dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
x = np.random.default_rng(0).standard_normal((n, 3, 224, 224), dtype=np.float32)
with torch.no_grad():
    logits = torch.cat([model(torch.from_numpy(x[i:i + 32])) for i in range(0, n, 32)]).numpy()
y = logits.argmax(1).astype(np.int64)
np.save(out / "data/test/inputs.npy", x); np.save(out / "data/test/labels.npy", y)
np.save(out / "data/test/reference_outputs.npy", logits.astype(np.float32))
(out / "results/production/test_results.md").write_text("# Test results\n\n- **Test Accuracy**: 100.0%\n")
print("generated", out)
`;

/** Generates the ResNet-18 run (model, 256 random images, PyTorch logits as labels and references) once. */
export function ensureResnetRun(): string {
  if (existsSync(path.join(RESNET_RUN, 'data/test/reference_outputs.npy'))) return RESNET_RUN;
  mkdirSync(CACHE, { recursive: true });
  const r = spawnSync('/usr/bin/python3', ['-c', GENERATE, RESNET_RUN, String(SAMPLES)], { stdio: 'inherit' });
  if (r.status !== 0)
    throw new Error('generating the ResNet-18 run failed (needs /usr/bin/python3 with torch and torchvision)');
  return RESNET_RUN;
}

/** Parses a small v1 .npy header (baseline only: the file is ours). */
export function npyPayload(buf: Buffer): { shape: number[]; data: Buffer } {
  const len = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + len);
  const shape = (/\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  return { shape, data: buf.subarray(10 + len) };
}

/** The plain loop: session on the main thread, whole test set read into memory, batches of 32, argmax vs labels. */
export async function plainParity(runDir: string, batch = 32): Promise<{ ms: number; correct: number }> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(path.join(runDir, 'models/production_model.onnx'));
  const x = npyPayload(await readFile(path.join(runDir, 'data/test/inputs.npy')));
  const y = npyPayload(await readFile(path.join(runDir, 'data/test/labels.npy')));
  const n = x.shape[0] as number;
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const xs = new Float32Array(x.data.buffer.slice(x.data.byteOffset, x.data.byteOffset + x.data.byteLength));
  const ys = new BigInt64Array(y.data.buffer.slice(y.data.byteOffset, y.data.byteOffset + y.data.byteLength));
  let correct = 0;
  for (let s = 0; s < n; s += batch) {
    const c = Math.min(batch, n - s);
    const t = new ort.Tensor('float32', xs.subarray(s * per, (s + c) * per), [c, ...x.shape.slice(1)]);
    const out = (await session.run({ input: t })).logits as ort.Tensor;
    const d = out.data as Float32Array;
    const k = out.dims[1] as number;
    for (let i = 0; i < c; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if ((d[i * k + j] as number) > (d[i * k + best] as number)) best = j;
      if (BigInt(best) === ys[s + i]) correct++;
    }
  }
  const ms = performance.now() - t0;
  await session.release();
  return { ms, correct };
}
