/** Helpers that turn a copy of the example run into the defect variants of the ONNX tests. */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { zipSync } from 'fflate';
import { parse } from 'yaml';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { type NdData, type NpDtype, openNpy, toFloat32 } from '../../src/testset/index.js';
import { encodeNpy } from '../../src/testset/npy.js';
import { REPO_ROOT } from '../helpers/runs.js';

export const ONNX_FIXTURES = path.join(REPO_ROOT, 'test/fixtures/onnx');

export async function readArray(
  runDir: string,
  rel: string,
): Promise<{ dtype: NpDtype; shape: number[]; data: NdData }> {
  const run = await RunArtifacts.open(runDir);
  const a = await openNpy(run, rel);
  try {
    return { dtype: a.dtype, shape: [...a.shape], data: await a.readRows(0, a.rows) };
  } finally {
    await a.close();
  }
}

export async function writeArray(
  runDir: string,
  rel: string,
  dtype: NpDtype,
  shape: number[],
  data: NdData,
): Promise<void> {
  await writeFile(path.join(runDir, rel), encodeNpy(dtype, shape, data));
}

/** Test inputs as they were before the training normalisation: raw 0..16 pixel intensities. */
export async function unnormaliseInputs(runDir: string): Promise<void> {
  const cfg = parse(await readFile(path.join(runDir, 'configs/final_config.yaml'), 'utf8')) as {
    data: { normalization: { mean: number; std: number } };
  };
  const { mean, std } = cfg.data.normalization;
  const x = await readArray(runDir, 'data/test/inputs.npy');
  const f = toFloat32(x.data, x.dtype);
  const raw = f.map((v) => Math.round(v * std + mean));
  await writeArray(runDir, 'data/test/inputs.npy', 'float32', x.shape, raw);
}

/** A Fortran-ordered copy of a C-ordered array (element (i0..ik) at offset i0 + s0·(i1 + s1·(…))). */
export function toFortran(c: Float32Array, shape: number[]): Float32Array {
  const out = new Float32Array(c.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < c.length; k++) {
    let f = 0;
    for (let d = shape.length - 1; d >= 0; d--) f = f * (shape[d] as number) + (idx[d] as number);
    out[f] = c[k] as number;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      if ((idx[d] as number) < (shape[d] as number)) break;
      idx[d] = 0;
    }
  }
  return out;
}

export async function writeFortranInputs(runDir: string): Promise<void> {
  const x = await readArray(runDir, 'data/test/inputs.npy');
  const f = toFortran(toFloat32(x.data, x.dtype), x.shape);
  const header = encodeNpy('float32', x.shape, f);
  // flip the header's fortran_order flag (same length: "False" → "True " keeps the padding)
  const text = Buffer.from(header).toString('latin1').replace("'fortran_order': False,", "'fortran_order': True, ");
  await writeFile(path.join(runDir, 'data/test/inputs.npy'), Buffer.from(text, 'latin1'));
}

/** Moves inputs and labels into one deflated inputs.npz (as np.savez_compressed writes it). */
export async function convertToNpz(runDir: string): Promise<void> {
  const dir = path.join(runDir, 'data/test');
  const inputs = await readFile(path.join(dir, 'inputs.npy'));
  const labels = await readFile(path.join(dir, 'labels.npy'));
  await writeFile(path.join(dir, 'inputs.npz'), zipSync({ 'inputs.npy': inputs, 'labels.npy': labels }, { level: 6 }));
  await rm(path.join(dir, 'inputs.npy'));
  await rm(path.join(dir, 'labels.npy'));
}
