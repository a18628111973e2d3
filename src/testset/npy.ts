import { GateError } from '../errors.js';
import { ITEMSIZE, type NdData, type NpDtype, parseDescr, swapBytes, viewAs } from './dtype.js';

export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** numpy pads headers to 64 bytes; anything this large is not a real header. */
const MAX_HEADER_BYTES = 64 * 1024;
/** Fortran-ordered arrays are transposed in memory up to this size; larger ones are refused. */
export const DEFAULT_MAX_TRANSPOSE_BYTES = 512 * 1024 * 1024;

export interface NpyHeader {
  dtype: NpDtype;
  itemsize: number;
  swap: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first data byte from the start of the .npy stream. */
  dataOffset: number;
  /** prod(shape) × itemsize. */
  dataBytes: number;
}

/**
 * Random or sequential access to the bytes of one .npy stream (a plain file, or a stored or
 * deflated .npz entry). Offsets are relative to the start of the .npy stream.
 */
export interface ByteSource {
  readonly size: number;
  /** Reads `length` bytes; into `into` (from its start) when it is given and large enough. */
  read(offset: number, length: number, into?: ArrayBuffer): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** How many bytes of the stream to read to be sure the header is inside. */
export const HEADER_PROBE_BYTES = 4096;

/** Parses a .npy header from the first bytes of the stream; `head` may be longer than the header. */
export function parseNpyHeader(head: Uint8Array, file: string, readMore?: number): NpyHeader {
  if (head.length < 10 || !NPY_MAGIC.every((b, i) => head[i] === b)) {
    throw new GateError('PARSE_ERROR', `${file} is not a .npy array (missing the \\x93NUMPY magic)`, { file });
  }
  const major = head[6] as number;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) throw new GateError('PARSE_ERROR', `${file}: .npy header is truncated`, { file });
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new GateError('UNSUPPORTED_FORMAT', `${file}: .npy format version ${major} is not supported`, { file });
  }
  if (headerLen > MAX_HEADER_BYTES) {
    throw new GateError(
      'PARSE_ERROR',
      `${file}: .npy header claims ${headerLen} bytes; real headers are a few hundred`,
      { file },
    );
  }
  if (start + headerLen > head.length) {
    if (readMore === undefined) throw new GateError('PARSE_ERROR', `${file}: .npy header is truncated`, { file });
    // Caller re-reads with a longer probe.
    throw new HeaderTooLong(start + headerLen);
  }
  const text = new TextDecoder('latin1').decode(head.subarray(start, start + headerLen));
  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(text);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descrM || !fortranM || !shapeM) {
    throw new GateError(
      'PARSE_ERROR',
      `${file}: .npy header is not a numpy array header (structured dtypes are not supported): ${text.trim().slice(0, 120)}`,
      {
        file,
      },
    );
  }
  const descr = parseDescr(descrM[1] as string, file);
  const parts = (shapeM[1] as string)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const shape: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p) || p.length > 15)
      throw new GateError('PARSE_ERROR', `${file}: .npy shape entry "${p}" is not a dimension`, { file });
    shape.push(Number(p));
  }
  let elements = 1;
  for (const d of shape) elements *= d;
  const dataBytes = elements * descr.itemsize;
  if (!Number.isSafeInteger(dataBytes)) {
    throw new GateError('PARSE_ERROR', `${file}: .npy shape (${shape.join(', ')}) is impossibly large`, { file });
  }
  return {
    dtype: descr.dtype,
    itemsize: descr.itemsize,
    swap: descr.swap,
    fortranOrder: fortranM[1] === 'True',
    shape,
    dataOffset: start + headerLen,
    dataBytes,
  };
}

export class HeaderTooLong extends Error {
  constructor(readonly needed: number) {
    super('npy header longer than the probe');
  }
}

export function formatShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** A numpy array read in row batches (rows = first dimension). */
export interface NdArray {
  /** Run-relative file, with `:entry` for an .npz member. */
  readonly rel: string;
  readonly dtype: NpDtype;
  readonly shape: readonly number[];
  /** First dimension (1 for a 0-d array). */
  readonly rows: number;
  /** Elements per row. */
  readonly rowElements: number;
  /** True when the file was Fortran-ordered and has been transposed to C order in memory. */
  readonly transposed: boolean;
  /**
   * Reads rows [start, start+count) as typed data of `dtype`, C order. With `into`, the rows are
   * read into that buffer when it is large enough (callers recycle batch buffers this way).
   */
  readRows(start: number, count: number, into?: ArrayBuffer): Promise<NdData>;
  close(): Promise<void>;
}

export interface OpenArrayOptions {
  /** Fortran-ordered arrays bigger than this are refused (they cannot be streamed by rows). */
  maxTransposeBytes?: number;
  /**
   * Deflated .npz members declaring more uncompressed bytes than this are refused unread
   * (limits.max_testset_inflated_bytes; the default policy's value when not given).
   */
  maxInflatedBytes?: number;
}

/** Builds an NdArray over a byte source holding one .npy stream. */
export async function arrayFromSource(source: ByteSource, rel: string, opts: OpenArrayOptions = {}): Promise<NdArray> {
  let header: NpyHeader;
  let probe = Math.min(HEADER_PROBE_BYTES, source.size);
  for (;;) {
    const head = await source.read(0, probe);
    try {
      header = parseNpyHeader(head, rel, probe < source.size ? probe : undefined);
      break;
    } catch (err) {
      if (err instanceof HeaderTooLong && err.needed <= source.size) {
        probe = err.needed;
        continue;
      }
      if (err instanceof HeaderTooLong)
        throw new GateError('PARSE_ERROR', `${rel}: .npy header is truncated`, { file: rel });
      throw err;
    }
  }
  const available = source.size - header.dataOffset;
  if (available < header.dataBytes) {
    throw new GateError(
      'PARSE_ERROR',
      `${rel} is truncated: its header declares shape ${formatShape(header.shape)} ${header.dtype} (${header.dataBytes} bytes of data) but only ${Math.max(0, available)} bytes follow`,
      { file: rel },
    );
  }
  if (available > header.dataBytes) {
    // One view of the file: bytes past the array would be read by nobody we know of.
    throw new GateError(
      'UNSAFE_ARTIFACT',
      `${rel} holds ${available} bytes of data where its header declares shape ${formatShape(header.shape)} ${header.dtype} (${header.dataBytes} bytes): ${available - header.dataBytes} bytes at byte ${header.dataOffset + header.dataBytes} belong to no array; refused`,
      { file: rel, hostile: true },
    );
  }
  const rows = header.shape.length === 0 ? 1 : (header.shape[0] as number);
  const rowElements = header.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = rowElements * header.itemsize;
  const fortran = header.fortranOrder && header.shape.filter((d) => d !== 1).length > 1;
  if (fortran) {
    const max = opts.maxTransposeBytes ?? DEFAULT_MAX_TRANSPOSE_BYTES;
    if (header.dataBytes > max) {
      await source.close();
      throw new GateError(
        'UNSUPPORTED_FORMAT',
        `${rel} is stored in Fortran order (shape ${formatShape(header.shape)}, ${header.dataBytes} bytes): rows are not contiguous, so it cannot be streamed, and it is larger than the ${max}-byte limit for transposing in memory; re-save it with np.save(path, np.ascontiguousarray(a))`,
        { file: rel },
      );
    }
    const all = await source.read(header.dataOffset, header.dataBytes);
    await source.close();
    if (header.swap) swapBytes(all, header.itemsize);
    const c = fortranToC(all, header.shape, header.itemsize);
    return new MemoryArray(rel, header, rows, rowElements, c);
  }
  return new StreamedArray(rel, header, rows, rowElements, rowBytes, source);
}

/** Reorders a Fortran-ordered buffer into C order. */
export function fortranToC(src: Uint8Array, shape: readonly number[], itemsize: number): Uint8Array {
  const n = shape.length;
  const total = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(total * itemsize);
  // Fortran strides (in elements): first axis fastest.
  const fstride: number[] = new Array<number>(n);
  let s = 1;
  for (let k = 0; k < n; k++) {
    fstride[k] = s;
    s *= shape[k] as number;
  }
  const idx = new Array<number>(n).fill(0);
  let fOff = 0;
  for (let c = 0; c < total; c++) {
    const so = fOff * itemsize;
    const d = c * itemsize;
    for (let b = 0; b < itemsize; b++) out[d + b] = src[so + b] as number;
    // advance the C index (last axis fastest), keeping the Fortran offset in step
    for (let k = n - 1; k >= 0; k--) {
      idx[k] = (idx[k] as number) + 1;
      fOff += fstride[k] as number;
      if ((idx[k] as number) < (shape[k] as number)) break;
      fOff -= (fstride[k] as number) * (shape[k] as number);
      idx[k] = 0;
    }
  }
  return out;
}

function checkRange(rel: string, rows: number, start: number, count: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
    throw new GateError('INTERNAL', `${rel}: rows ${start}..${start + count} requested but the array has ${rows}`, {
      file: rel,
    });
  }
}

class StreamedArray implements NdArray {
  readonly dtype: NpDtype;
  readonly shape: readonly number[];
  readonly transposed = false;
  constructor(
    readonly rel: string,
    private readonly header: NpyHeader,
    readonly rows: number,
    readonly rowElements: number,
    private readonly rowBytes: number,
    private readonly source: ByteSource,
  ) {
    this.dtype = header.dtype;
    this.shape = header.shape;
  }

  async readRows(start: number, count: number, into?: ArrayBuffer): Promise<NdData> {
    checkRange(this.rel, this.rows, start, count);
    const bytes = await this.source.read(this.header.dataOffset + start * this.rowBytes, count * this.rowBytes, into);
    if (this.header.swap) swapBytes(bytes, this.header.itemsize);
    return viewAs(this.dtype, bytes);
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

class MemoryArray implements NdArray {
  readonly dtype: NpDtype;
  readonly shape: readonly number[];
  readonly transposed = true;
  constructor(
    readonly rel: string,
    header: NpyHeader,
    readonly rows: number,
    readonly rowElements: number,
    private readonly data: Uint8Array,
  ) {
    this.dtype = header.dtype;
    this.shape = header.shape;
  }

  async readRows(start: number, count: number, into?: ArrayBuffer): Promise<NdData> {
    checkRange(this.rel, this.rows, start, count);
    const rb = this.rowElements * ITEMSIZE[this.dtype];
    const part = this.data.subarray(start * rb, (start + count) * rb);
    const out =
      into && into.byteLength >= part.length ? new Uint8Array(into, 0, part.length) : new Uint8Array(part.length);
    out.set(part);
    return viewAs(this.dtype, out);
  }

  async close(): Promise<void> {}
}

const DESCR: Record<NpDtype, string> = {
  float32: '<f4',
  float16: '<f2',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
};

/** A .npy (v1.0, C order, little-endian) header for `shape`; data follows it. */
export function npyHeader(dtype: NpDtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  dict += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + dict.length);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  out.set(new TextEncoder().encode(dict), 10);
  return out;
}

/** A whole .npy file in memory (small arrays: tests, fixtures). */
export function encodeNpy(dtype: NpDtype, shape: readonly number[], data: NdData): Uint8Array {
  const head = npyHeader(dtype, shape);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}
