import type { OpenedFile, RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import { DEFAULT_ZIP_LIMITS, type ZipEntry, type ZipLimits, ZipReader } from '../formats/zip.js';
import type { Policy } from '../policy/schema.js';
import { halfToNumber, type PickleLimits, unpickleCheckpoint } from './pickle.js';
import { DTYPE_BYTES, type PickleValue, type StorageRef, TensorMeta } from './values.js';

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
const LEGACY_MAGIC = Uint8Array.from([
  0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
]);

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

/** The records torch.save (1.6 to 2.x) writes in its archive folder besides `data/<key>` storages. */
const TORCH_SAVE_RECORDS = new Set([
  'data.pkl',
  'version',
  'byteorder',
  '.format_version',
  '.storage_alignment',
  '.data/serialization_id',
]);
/** The only `version` torch.save writes (PyTorchStreamWriter's minimum); torch.jit.save may write higher ones. */
const TORCH_SAVE_VERSION = '3';

interface TorchArchiveLayout {
  /** The archive folder: torch takes it from the first central-directory entry. */
  prefix: string;
  /** `<prefix>/data.pkl` (absent only in a TorchScript archive, which is refused). */
  pkl: ZipEntry | null;
  /** Every entry ending in .pkl or .debug_pkl, data.pkl included. */
  pickles: ZipEntry[];
  /** Records that only TorchScript archives have (torch.load hands those to torch.jit.load). */
  torchscript: string[];
  /** Records torch.save never writes. */
  unknown: string[];
}

/**
 * Sorts the archive's records the way torch.load sees them: PyTorchStreamReader names the folder
 * after the first central-directory entry and looks every record up under it; torch.load then
 * dispatches to torch.jit.load when a `constants.pkl` record exists.
 */
function classifyTorchArchive(zip: ZipReader, file: string): TorchArchiveLayout {
  const first = zip.entries[0];
  if (!first) throw new GateError('PARSE_ERROR', `${file} is an empty zip: not a torch.save checkpoint`, { file });
  const slash = first.name.indexOf('/');
  if (slash <= 0)
    throw new GateError(
      'PARSE_ERROR',
      `${file}: its first zip entry "${first.name}" is not in a folder, so torch.load cannot read it (not a torch.save checkpoint)`,
      { file },
    );
  const prefix = first.name.slice(0, slash);
  const layout: Omit<TorchArchiveLayout, 'pkl'> = { prefix, pickles: [], torchscript: [], unknown: [] };
  for (const e of zip.entries) {
    if (!e.name.startsWith(`${prefix}/`)) {
      throw new GateError(
        'UNSAFE_ARTIFACT',
        `${file}: zip entry "${e.name}" is outside the folder "${prefix}/" that torch.load reads (it takes the folder from the first entry); refused`,
        { file, hostile: true },
      );
    }
    const record = e.name.slice(prefix.length + 1);
    if (/\.(debug_)?pkl$/.test(record)) layout.pickles.push(e);
    if (
      record === 'constants.pkl' ||
      record === 'bytecode.pkl' ||
      record === '.data/version' ||
      /^(code|extra|constants|\.data\/ts_code)\//.test(record)
    ) {
      layout.torchscript.push(record);
    } else if (!TORCH_SAVE_RECORDS.has(record) && !/^data\/[0-9A-Za-z_.-]{1,64}$/.test(record)) {
      layout.unknown.push(record);
    }
  }
  const pkl = zip.get(`${prefix}/data.pkl`) ?? null;
  if (!pkl && layout.torchscript.length === 0) {
    throw new GateError('PARSE_ERROR', `${file} is a zip without ${prefix}/data.pkl: not a torch.save checkpoint`, {
      file,
    });
  }
  return { ...layout, pkl };
}

/**
 * Refuses every archive torch.load would not read as the plain torch.save checkpoint we check:
 * TorchScript archives (torch.jit.load compiles and runs their code, even under weights_only=True),
 * records torch.save never writes (a second pickle among them), and a version other than torch.save's.
 */
async function refuseForeignArchive(
  zip: ZipReader,
  layout: TorchArchiveLayout,
  findings: string[],
  file: string,
): Promise<ZipEntry> {
  const refuse = (why: string) =>
    new GateError(
      'UNSAFE_ARTIFACT',
      `${file}: ${why}; refused${findings.length > 0 ? ` (also: ${findings.join('; ')})` : ''}`,
      { file, hostile: true },
    );
  const version = zip.get(`${layout.prefix}/version`);
  const versionText = version ? (await zip.readEntry(version, 64)).toString('latin1').trim() : null;
  if (versionText !== null && versionText !== TORCH_SAVE_VERSION)
    layout.torchscript.push(`version ${JSON.stringify(versionText.slice(0, 20))}`);
  if (layout.torchscript.length > 0) {
    throw refuse(
      `a TorchScript archive (${layout.torchscript.slice(0, 4).join(', ')}${layout.torchscript.length > 4 ? ', …' : ''}), not a torch.save checkpoint: ` +
        'torch.load hands such a file to torch.jit.load, which compiles and runs the code inside it, even with weights_only=True',
    );
  }
  const pkl = layout.pkl!;
  const extraPickles = layout.pickles.filter((e) => e !== pkl).map((e) => e.name);
  if (extraPickles.length > 0) {
    throw refuse(
      `holds ${extraPickles.length + 1} pickles (${[pkl.name, ...extraPickles].join(', ')}); a torch.save checkpoint has only ${pkl.name}`,
    );
  }
  if (layout.unknown.length > 0) {
    throw refuse(
      `holds records torch.save never writes (${layout.unknown.slice(0, 5).join(', ')}${layout.unknown.length > 5 ? ', …' : ''})`,
    );
  }
  if (findings.length > 0) throw new GateError('UNSAFE_ARTIFACT', `${file}: ${findings[0]}`, { file, hostile: true });
  if (versionText === null)
    throw new GateError(
      'PARSE_ERROR',
      `${file} has no ${layout.prefix}/version record, so torch.load cannot read it (corrupt checkpoint)`,
      { file },
    );
  return pkl;
}

async function readPickle(zip: ZipReader, e: ZipEntry, limits: CheckpointLimits, file: string): Promise<Buffer> {
  if (e.uncompressedSize > limits.maxPickleBytes) {
    throw new GateError(
      'TOO_LARGE',
      `${file}: ${e.name} is ${e.uncompressedSize} bytes; the limit (limits.max_pickle_bytes) is ${limits.maxPickleBytes}`,
      { file },
    );
  }
  return zip.readEntry(e, limits.maxPickleBytes);
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
      throw new GateError(
        'TOO_LARGE',
        `${file} is ${f.size} bytes; the checkpoint limit (limits.max_checkpoint_bytes) is ${limits.maxFileBytes}`,
        { file },
      );
    }
    const head = Buffer.alloc(Math.min(32, f.size));
    await f.handle.read(head, 0, head.length, 0);
    const kind = sniffCheckpoint(head);
    if (kind === 'legacy') throw new GateError('UNSUPPORTED_FORMAT', `${file}: ${LEGACY_REMEDIATION}`, { file });
    if (kind === 'pickle') {
      throw new GateError(
        'UNSUPPORTED_FORMAT',
        `${file} is a bare pickle, not a torch.save zip archive; save it with torch.save(...) (zip format)`,
        { file },
      );
    }
    if (kind !== 'zip')
      throw new GateError('PARSE_ERROR', `${file} is not a torch.save checkpoint (no zip or pickle signature)`, {
        file,
      });

    const zip = await ZipReader.open(f.handle, f.size, file, limits.zip);
    zip.bytesRead += head.length;
    const layout = classifyTorchArchive(zip, file);
    const { prefix } = layout;
    // Every pickle is read by the restricted interpreter, so a finding in any of them is named.
    const findings: string[] = [];
    for (const other of layout.pickles.filter((e) => e !== layout.pkl)) {
      try {
        unpickleCheckpoint(await readPickle(zip, other, limits, file), {
          file,
          entry: other.name,
          limits: limits.pickle,
        });
      } catch (err) {
        if (err instanceof GateError && err.hostile) findings.push(err.message.replace(`${file}: `, ''));
        else if (!(err instanceof GateError)) throw err;
      }
    }
    const pkl = await refuseForeignArchive(zip, layout, findings, file);
    const byteorder = zip.get(`${prefix}/byteorder`);
    if (byteorder) {
      const order = (await zip.readEntry(byteorder, 16)).toString('latin1').trim();
      if (order !== 'little')
        throw new GateError(
          'UNSUPPORTED_FORMAT',
          `${file} stores tensors ${order}-endian; only little-endian checkpoints are read`,
          { file },
        );
    }
    const bytes = await readPickle(zip, pkl, limits, file);
    const result = unpickleCheckpoint(bytes, { file, entry: pkl.name, limits: limits.pickle });
    // Every storage the pickle names must exist with exactly the bytes it declares.
    for (const s of result.storages.values()) {
      const e = zip.get(`${prefix}/data/${s.key}`);
      if (!e)
        throw new GateError(
          'PARSE_ERROR',
          `${file}: storage ${s.key} is referenced by the pickle but ${prefix}/data/${s.key} is missing (corrupt checkpoint)`,
          { file },
        );
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
    if (!e)
      throw new GateError('PARSE_ERROR', `${this.file}: storage entry data/${s.key} is missing`, { file: this.file });
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
      throw new GateError(
        'TOO_LARGE',
        `${this.file}: a tensor of ${n * es} bytes is over the ${this.limits.maxTensorBytes}-byte read limit`,
        { file: this.file },
      );
    }
    const entry = this.storageEntry(t.storage);
    if (n === 0) return Buffer.alloc(0);
    if (t.isContiguous) {
      const parts: Buffer[] = [];
      for await (const c of this.zip.streamRange(entry, t.storageOffset * es, (t.storageOffset + n) * es))
        parts.push(c);
      return Buffer.concat(parts, n * es);
    }
    const lo = t.storageOffset;
    let hi = t.storageOffset;
    t.shape.forEach((d, i) => {
      hi += (d - 1) * t.stride[i]!;
    });
    if ((hi - lo + 1) * es > this.limits.maxTensorBytes) {
      throw new GateError(
        'TOO_LARGE',
        `${this.file}: a strided tensor view spans more than the ${this.limits.maxTensorBytes}-byte read limit`,
        { file: this.file },
      );
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
    if (t.numel !== 1)
      throw new GateError(
        'SHAPE_MISMATCH',
        `${this.file}: expected a one-element tensor, got shape [${t.shape.join(', ')}]`,
        { file: this.file },
      );
    const b = await this.readTensorBytes(t);
    switch (t.dtype) {
      case 'float32':
        return b.readFloatLE(0);
      case 'float64':
        return b.readDoubleLE(0);
      case 'float16':
        return halfToNumber(b.readUInt16LE(0));
      case 'bfloat16': {
        const f = Buffer.alloc(4);
        f.writeUInt16LE(b.readUInt16LE(0), 2);
        return f.readFloatLE(0);
      }
      case 'int64': {
        const v = b.readBigInt64LE(0);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 'int32':
        return b.readInt32LE(0);
      case 'int16':
        return b.readInt16LE(0);
      case 'int8':
        return b.readInt8(0);
      case 'uint8':
        return b.readUInt8(0);
      case 'bool':
        return b[0] !== 0;
      default:
        throw new GateError('UNSUPPORTED_FORMAT', `${this.file}: cannot read a ${t.dtype} scalar`, { file: this.file });
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
