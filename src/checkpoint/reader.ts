import type { OpenedFile, RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { halfToNumber, unpickleCheckpoint, type PickleLimits } from './pickle.js';
import { DTYPE_BYTES, TensorMeta, type PickleValue, type StorageRef } from './values.js';
import { DEFAULT_ZIP_LIMITS, ZipReader, type ZipEntry, type ZipLimits } from '../formats/zip.js';

export interface CheckpointLimits {
  /** The checkpoint file itself. */
  maxFileBytes: number;
  /** data.pkl (read whole). */
  maxPickleBytes: number;
  zip: ZipLimits;
  pickle: Partial<PickleLimits>;
  /** A tensor read whole for a digest (non-contiguous views are gathered in memory). */
  maxTensorBytes: number;
}

export function checkpointLimits(policy: Policy): CheckpointLimits {
  const l = policy.limits;
  return {
    maxFileBytes: l.max_checkpoint_bytes,
    maxPickleBytes: l.max_pickle_bytes,
    zip: {
      ...DEFAULT_ZIP_LIMITS,
      maxTotalUncompressedBytes: l.max_checkpoint_uncompressed_bytes,
      maxCompressionRatio: l.max_zip_compression_ratio,
    },
    pickle: {},
    maxTensorBytes: 1024 * 1024 * 1024,
  };
}

/** torch's legacy (pre-1.6, non-zip) format starts with a protocol-2 pickle of this magic number. */
const LEGACY_MAGIC = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

export const LEGACY_REMEDIATION =
  'legacy torch serialization; re-save with torch.save(..., _use_new_zipfile_serialization=True) (the default since PyTorch 1.6)';

/** Recognises a file's format from its first bytes without parsing it. */
export function sniffCheckpoint(head: Uint8Array): 'zip' | 'legacy' | 'pickle' | 'unknown' {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => head[i] === b)) return 'legacy';
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) {
    // Legacy files saved with another pickle protocol still start with the magic number's bytes.
    const magic = LEGACY_MAGIC.subarray(4);
    for (let i = 2; i + magic.length <= head.length; i++) if (magic.every((b, k) => head[i + k] === b)) return 'legacy';
    return 'pickle';
  }
  return 'unknown';
}

/** A torch.save checkpoint opened for reading: its decoded pickle and on-demand tensor bytes. */
export class Checkpoint {
  private constructor(
    private readonly opened: OpenedFile,
    readonly zip: ZipReader,
    /** The archive's top folder ("archive" or the file's stem). */
    readonly prefix: string,
    readonly data: PickleValue,
    readonly storages: ReadonlyMap<string, StorageRef>,
    readonly protocol: number,
    readonly globals: ReadonlySet<string>,
    private readonly limits: CheckpointLimits,
  ) {}

  get file(): string {
    return this.opened.rel;
  }

  get size(): number {
    return this.opened.size;
  }

  /** Bytes of the file read so far (the metadata read touches only the directory and data.pkl). */
  get bytesRead(): number {
    return this.zip.bytesRead;
  }

  async close(): Promise<void> {
    await this.opened.handle.close();
  }

  static async open(run: RunArtifacts, rel: string, limits: CheckpointLimits): Promise<Checkpoint> {
    const f = await run.openFile(rel);
    try {
      return await Checkpoint.fromFile(f, limits);
    } catch (err) {
      await f.handle.close();
      throw err;
    }
  }

  private static async fromFile(f: OpenedFile, limits: CheckpointLimits): Promise<Checkpoint> {
    const file = f.rel;
    if (f.size > limits.maxFileBytes) {
      throw new GateError('TOO_LARGE', `${file} is ${f.size} bytes; the checkpoint limit (limits.max_checkpoint_bytes) is ${limits.maxFileBytes}`, { file });
    }
    const head = Buffer.alloc(Math.min(32, f.size));
    await f.handle.read(head, 0, head.length, 0);
    const kind = sniffCheckpoint(head);
    if (kind === 'legacy') throw new GateError('UNSUPPORTED_FORMAT', `${file}: ${LEGACY_REMEDIATION}`, { file });
    if (kind === 'pickle') {
      throw new GateError('UNSUPPORTED_FORMAT', `${file} is a bare pickle, not a torch.save zip archive; save it with torch.save(...) (zip format)`, { file });
    }
    if (kind !== 'zip') throw new GateError('PARSE_ERROR', `${file} is not a torch.save checkpoint (no zip or pickle signature)`, { file });

    const zip = await ZipReader.open(f.handle, f.size, file, limits.zip);
    zip.bytesRead += head.length;
    const pkls = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (pkls.length === 0) {
      throw new GateError('PARSE_ERROR', `${file} is a zip without a */data.pkl entry: not a torch.save checkpoint (is it a TorchScript archive or another zip?)`, { file });
    }
    if (pkls.length > 1) {
      throw new GateError('UNSAFE_ARTIFACT', `${file} holds ${pkls.length} */data.pkl entries (${pkls.map((e) => e.name).join(', ')}); which one torch loads is ambiguous; refused`, {
        file,
        hostile: true,
      });
    }
    const pkl = pkls[0]!;
    const prefix = pkl.name.slice(0, -'/data.pkl'.length);
    const byteorder = zip.get(`${prefix}/byteorder`);
    if (byteorder) {
      const order = (await zip.readEntry(byteorder, 16)).toString('latin1').trim();
      if (order !== 'little') throw new GateError('UNSUPPORTED_FORMAT', `${file} stores tensors ${order}-endian; only little-endian checkpoints are read`, { file });
    }
    if (pkl.uncompressedSize > limits.maxPickleBytes) {
      throw new GateError('TOO_LARGE', `${file}: ${pkl.name} is ${pkl.uncompressedSize} bytes; the limit (limits.max_pickle_bytes) is ${limits.maxPickleBytes}`, { file });
    }
    const bytes = await zip.readEntry(pkl, limits.maxPickleBytes);
    const result = unpickleCheckpoint(bytes, { file, entry: pkl.name, limits: limits.pickle });
    // Every storage the pickle names must exist with exactly the bytes it declares.
    for (const s of result.storages.values()) {
      const e = zip.get(`${prefix}/data/${s.key}`);
      if (!e) throw new GateError('PARSE_ERROR', `${file}: storage ${s.key} is referenced by the pickle but ${prefix}/data/${s.key} is missing (corrupt checkpoint)`, { file });
      if (e.uncompressedSize !== s.byteLength) {
        throw new GateError(
          'UNSAFE_ARTIFACT',
          `${file}: storage ${s.key} declares ${s.numel} ${s.dtype} elements (${s.byteLength} bytes) but ${e.name} holds ${e.uncompressedSize} bytes; refused`,
          { file, hostile: true },
        );
      }
    }
    return new Checkpoint(f, zip, prefix, result.value, result.storages, result.protocol, result.globals, limits);
  }

  private storageEntry(s: StorageRef): ZipEntry {
    const e = this.zip.get(`${this.prefix}/data/${s.key}`);
    if (!e) throw new GateError('PARSE_ERROR', `${this.file}: storage entry data/${s.key} is missing`, { file: this.file });
    return e;
  }

  /**
   * The tensor's elements in row-major order, little-endian (for digests). Contiguous tensors are
   * streamed straight from their byte range; views are gathered from the covering range.
   */
  async readTensorBytes(t: TensorMeta): Promise<Buffer> {
    const es = DTYPE_BYTES[t.dtype];
    const n = t.numel;
    if (n * es > this.limits.maxTensorBytes) {
      throw new GateError('TOO_LARGE', `${this.file}: a tensor of ${n * es} bytes is over the ${this.limits.maxTensorBytes}-byte read limit`, { file: this.file });
    }
    const entry = this.storageEntry(t.storage);
    if (n === 0) return Buffer.alloc(0);
    if (t.isContiguous) {
      const parts: Buffer[] = [];
      for await (const c of this.zip.streamRange(entry, t.storageOffset * es, (t.storageOffset + n) * es)) parts.push(c);
      return Buffer.concat(parts, n * es);
    }
    let lo = t.storageOffset;
    let hi = t.storageOffset;
    t.shape.forEach((d, i) => (hi += (d - 1) * t.stride[i]!));
    if ((hi - lo + 1) * es > this.limits.maxTensorBytes) {
      throw new GateError('TOO_LARGE', `${this.file}: a strided tensor view spans more than the ${this.limits.maxTensorBytes}-byte read limit`, { file: this.file });
    }
    const parts: Buffer[] = [];
    for await (const c of this.zip.streamRange(entry, lo * es, (hi + 1) * es)) parts.push(c);
    const span = Buffer.concat(parts);
    const out = Buffer.alloc(n * es);
    const idx = new Array<number>(t.shape.length).fill(0);
    for (let k = 0; k < n; k++) {
      let off = t.storageOffset - lo;
      for (let d = 0; d < idx.length; d++) off += idx[d]! * t.stride[d]!;
      span.copy(out, k * es, off * es, off * es + es);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d]! < t.shape[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  }

  /** The value of a one-element tensor (e.g. an epoch saved as torch.tensor(17)). */
  async readScalar(t: TensorMeta): Promise<number | bigint | boolean> {
    if (t.numel !== 1) throw new GateError('SHAPE_MISMATCH', `${this.file}: expected a one-element tensor, got shape [${t.shape.join(', ')}]`, { file: this.file });
    const b = await this.readTensorBytes(t);
    switch (t.dtype) {
      case 'float32': return b.readFloatLE(0);
      case 'float64': return b.readDoubleLE(0);
      case 'float16': return halfToNumber(b.readUInt16LE(0));
      case 'bfloat16': {
        const f = Buffer.alloc(4);
        f.writeUInt16LE(b.readUInt16LE(0), 2);
        return f.readFloatLE(0);
      }
      case 'int64': {
        const v = b.readBigInt64LE(0);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 'int32': return b.readInt32LE(0);
      case 'int16': return b.readInt16LE(0);
      case 'int8': return b.readInt8(0);
      case 'uint8': return b.readUInt8(0);
      case 'bool': return b[0] !== 0;
      default: throw new GateError('UNSUPPORTED_FORMAT', `${this.file}: cannot read a ${t.dtype} scalar`, { file: this.file });
    }
  }
}

/** Every tensor reachable from `value`, with a dotted path ("model_state_dict.fc1.weight"). */
export function* walkTensors(value: PickleValue, path = ''): Generator<[string, TensorMeta]> {
  const seen = new Set<object>();
  function* go(v: PickleValue, p: string): Generator<[string, TensorMeta]> {
    if (v instanceof TensorMeta) {
      yield [p, v];
      return;
    }
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) {
      for (const [k, val] of v) yield* go(val, p ? `${p}.${String(k)}` : String(k));
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) yield* go(v[i] as PickleValue, `${p}[${i}]`);
    }
  }
  yield* go(value, path);
}
