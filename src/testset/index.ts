/**
 * Test-set readers: .npy and .npz (stored or deflated) read in row batches through a file handle,
 * so a test set larger than memory streams. Every file is opened through RunArtifacts.
 */
import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import { DEFAULT_ZIP_LIMITS, type ZipLimits, ZipReader } from '../formats/zip.js';
import { DEFAULT_POLICY, type Policy } from '../policy/schema.js';
import { elementAsNumber, type NdData, type NpDtype } from './dtype.js';
import { arrayFromSource, formatShape, type NdArray, type OpenArrayOptions } from './npy.js';
import { FileRangeSource, InflateSource } from './sources.js';

export * from './dtype.js';
export type { NdArray, OpenArrayOptions } from './npy.js';
export { formatShape, parseNpyHeader } from './npy.js';

/** The policy's caps for reading test-set arrays. */
export function testsetLimits(policy: Policy): OpenArrayOptions {
  return { maxInflatedBytes: policy.limits.max_testset_inflated_bytes };
}

/** Opens a .npy file for row-batched reads. */
export async function openNpy(run: RunArtifacts, rel: string, opts: OpenArrayOptions = {}): Promise<NdArray> {
  const f = await run.openFile(rel);
  try {
    return await arrayFromSource(new FileRangeSource(f.handle, 0, f.size, f.rel), f.rel, opts);
  } catch (err) {
    await f.handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * .npz archives go through the same hardened zip reader as checkpoints. Arrays are streamed in
 * batches (deflated ones through a capped streaming inflate), so neither the total size nor a
 * high compression ratio (regular data such as labels) needs the checkpoint caps.
 */
const NPZ_ZIP_LIMITS: ZipLimits = {
  ...DEFAULT_ZIP_LIMITS,
  maxTotalUncompressedBytes: Number.MAX_SAFE_INTEGER,
  maxCompressionRatio: 100_000,
};

/** Names of the arrays inside an .npz (entry names without `.npy`). */
export async function listNpz(run: RunArtifacts, rel: string): Promise<string[]> {
  const f = await run.openFile(rel);
  try {
    return (await ZipReader.open(f.handle, f.size, f.rel, NPZ_ZIP_LIMITS)).entries.map((e) =>
      e.name.replace(/\.npy$/, ''),
    );
  } finally {
    await f.handle.close();
  }
}

/** Opens one array of an .npz (stored entries are random access; deflated ones stream). */
export async function openNpzEntry(
  run: RunArtifacts,
  rel: string,
  name: string,
  opts: OpenArrayOptions = {},
): Promise<NdArray> {
  const f = await run.openFile(rel);
  try {
    const zip = await ZipReader.open(f.handle, f.size, f.rel, NPZ_ZIP_LIMITS);
    const entries = zip.entries;
    const entry = entries.find((e) => e.name === `${name}.npy` || e.name === name);
    if (!entry) {
      throw new GateError(
        'NOT_FOUND',
        `${f.rel} has no array "${name}" (it holds: ${entries.map((e) => e.name).join(', ') || 'nothing'})`,
        { file: f.rel },
      );
    }
    if (entry.flags & 1)
      throw new GateError('UNSUPPORTED_FORMAT', `${f.rel}: entry ${entry.name} is encrypted`, { file: f.rel });
    const label = `${f.rel}:${name}`;
    const { start } = await zip.dataStart(entry);
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.uncompressedSize) {
        throw new GateError('PARSE_ERROR', `${label}: stored entry with different compressed and uncompressed sizes`, {
          file: f.rel,
        });
      }
      return await arrayFromSource(new FileRangeSource(f.handle, start, entry.uncompressedSize, label), label, opts);
    }
    if (entry.method === 8) {
      // The declared size is checked before anything is inflated; the header's shape × dtype must
      // then match it exactly (arrayFromSource), and the inflate stops at the declared size.
      const max = opts.maxInflatedBytes ?? DEFAULT_POLICY.limits.max_testset_inflated_bytes;
      if (entry.uncompressedSize > max) {
        const ratio =
          entry.compressedSize > 0 ? `${Math.round(entry.uncompressedSize / entry.compressedSize)}:1` : 'infinite';
        throw new GateError(
          'UNSAFE_ARTIFACT',
          `${label}: deflated entry declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed (ratio ${ratio}); the limit for an inflated test-set array is ${max} bytes: zip bomb refused without inflating it`,
          { file: f.rel, hostile: true },
        );
      }
      return await arrayFromSource(
        new InflateSource(f.handle, start, entry.compressedSize, entry.uncompressedSize, label),
        label,
        opts,
      );
    }
    throw new GateError(
      'UNSUPPORTED_FORMAT',
      `${label}: zip compression method ${entry.method} is not supported (stored or deflated only)`,
      {
        file: f.rel,
      },
    );
  } catch (err) {
    await f.handle.close().catch(() => undefined);
    throw err;
  }
}

/** Entry names tried, in order, when an .npz holds several arrays. */
export const ARRAY_NAMES = {
  inputs: ['inputs', 'x', 'X', 'data', 'images', 'arr_0'],
  labels: ['labels', 'y', 'Y', 'targets', 'target'],
  reference_outputs: ['reference_outputs', 'logits', 'outputs'],
} as const;

/**
 * Opens a test-set array: `.npy`, or `.npz` (the array named after `role`, or its only array).
 * `file.npz:name` selects an entry explicitly.
 */
export async function openTestArray(
  run: RunArtifacts,
  rel: string,
  role: keyof typeof ARRAY_NAMES,
  opts: OpenArrayOptions = {},
): Promise<NdArray> {
  const m = /^(.*\.npz):([^/]+)$/.exec(rel);
  if (m) return openNpzEntry(run, m[1] as string, m[2] as string, opts);
  if (!rel.endsWith('.npz')) return openNpy(run, rel, opts);
  const names = await listNpz(run, rel);
  const pick = names.length === 1 ? names[0] : ARRAY_NAMES[role].find((n) => names.includes(n));
  if (pick === undefined) {
    throw new GateError(
      'NOT_FOUND',
      `${rel} holds ${names.join(', ')}; none is named ${ARRAY_NAMES[role].join('/')} for the ${role}`,
      { file: rel },
    );
  }
  return openNpzEntry(run, rel, pick, opts);
}

/**
 * Finds the test-set file for `role`: the policy path, else the same name with the other
 * extension (.npy ↔ .npz), else for labels/references an array inside the inputs .npz.
 * Returns null when nothing exists.
 */
export async function locateTestArray(
  run: RunArtifacts,
  rel: string,
  role: keyof typeof ARRAY_NAMES,
  inputsRel?: string,
): Promise<string | null> {
  if (await run.exists(rel)) return rel;
  const alt = rel.endsWith('.npy')
    ? rel.replace(/\.npy$/, '.npz')
    : rel.endsWith('.npz')
      ? rel.replace(/\.npz$/, '.npy')
      : null;
  if (alt && (await run.exists(alt))) return alt;
  if (inputsRel?.endsWith('.npz') && role !== 'inputs') {
    const names = await listNpz(run, inputsRel);
    const hit = ARRAY_NAMES[role].find((n) => names.includes(n));
    if (hit) return `${inputsRel}:${hit}`;
  }
  return null;
}

const LABEL_DTYPES: readonly NpDtype[] = ['int64', 'int32', 'uint8'];

/** Checks a labels array: integer dtype, shape [N] or [N, 1]. */
export function validateLabels(labels: NdArray, expectedRows?: number, inputsShape?: readonly number[]): void {
  if (!LABEL_DTYPES.includes(labels.dtype)) {
    throw new GateError(
      'SHAPE_MISMATCH',
      `${labels.rel} is ${labels.dtype}; labels must be integer class ids (int64, int32 or uint8)`,
      {
        file: labels.rel,
      },
    );
  }
  if (!(labels.shape.length === 1 || (labels.shape.length === 2 && labels.shape[1] === 1))) {
    throw new GateError(
      'SHAPE_MISMATCH',
      `${labels.rel} has shape ${formatShape(labels.shape)}; labels must be [N] (one class id per sample)`,
      {
        file: labels.rel,
      },
    );
  }
  if (expectedRows !== undefined && labels.rows !== expectedRows) {
    throw new GateError(
      'SHAPE_MISMATCH',
      `label count mismatch: ${labels.rel} has shape ${formatShape(labels.shape)} (${labels.rows} labels) but the inputs have shape ${formatShape(inputsShape ?? [expectedRows])} (${expectedRows} samples)`,
      { file: labels.rel },
    );
  }
}

/** Converts integer label data to class ids. */
export function labelsToInts(data: NdData, dtype: NpDtype): Int32Array {
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = elementAsNumber(data, dtype, i);
  return out;
}

/** Reads every label of a labels file (N × 4 bytes in memory). */
export async function readAllLabels(
  run: RunArtifacts,
  rel: string,
  expectedRows?: number,
  opts: OpenArrayOptions = {},
): Promise<Int32Array> {
  const arr = await openTestArray(run, rel, 'labels', opts);
  try {
    validateLabels(arr, expectedRows);
    const out = new Int32Array(arr.rows);
    const step = 1 << 16;
    for (let s = 0; s < arr.rows; s += step) {
      const n = Math.min(step, arr.rows - s);
      out.set(labelsToInts(await arr.readRows(s, n), arr.dtype), s);
    }
    return out;
  } finally {
    await arr.close();
  }
}
