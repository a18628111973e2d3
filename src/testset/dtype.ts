import { GateError } from '../errors.js';

/** The element types the gate reads from .npy files (numpy names). */
export type NpDtype = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'uint8';

export const NP_DTYPES: Record<string, { dtype: NpDtype; itemsize: number }> = {
  f4: { dtype: 'float32', itemsize: 4 },
  f2: { dtype: 'float16', itemsize: 2 },
  f8: { dtype: 'float64', itemsize: 8 },
  i8: { dtype: 'int64', itemsize: 8 },
  i4: { dtype: 'int32', itemsize: 4 },
  u1: { dtype: 'uint8', itemsize: 1 },
};

export const ITEMSIZE: Record<NpDtype, number> = { float32: 4, float16: 2, float64: 8, int64: 8, int32: 4, uint8: 1 };

/** Element data of a dtype; float16 is kept as its raw bits (what onnxruntime takes). */
export type NdData = Float32Array | Uint16Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface ParsedDescr {
  dtype: NpDtype;
  itemsize: number;
  /** True when the bytes are big-endian and must be swapped on this (little-endian) machine. */
  swap: boolean;
}

/** Parses a numpy `descr` such as `<f4`, `|u1`, `>i8`. */
export function parseDescr(descr: string, file: string): ParsedDescr {
  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const known = m ? NP_DTYPES[`${m[2]}${m[3]}`] : undefined;
  if (!m || !known) {
    throw new GateError(
      'UNSUPPORTED_FORMAT',
      `${file}: dtype "${descr}" is not supported; expected one of float32, float16, float64, int64, int32, uint8`,
      { file },
    );
  }
  return { dtype: known.dtype, itemsize: known.itemsize, swap: m[1] === '>' && known.itemsize > 1 };
}

/** Views little-endian bytes as typed data, copying when the bytes are not aligned. */
export function viewAs(dtype: NpDtype, bytes: Uint8Array): NdData {
  const size = ITEMSIZE[dtype];
  let b = bytes;
  if (b.byteOffset % size !== 0) b = Uint8Array.from(b);
  const n = b.byteLength / size;
  switch (dtype) {
    case 'float32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'float16':
      return new Uint16Array(b.buffer, b.byteOffset, n);
    case 'float64':
      return new Float64Array(b.buffer, b.byteOffset, n);
    case 'int64':
      return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'int32':
      return new Int32Array(b.buffer, b.byteOffset, n);
    case 'uint8':
      return new Uint8Array(b.buffer, b.byteOffset, n);
  }
}

/** Swaps the byte order of every element in place. */
export function swapBytes(bytes: Uint8Array, itemsize: number): void {
  for (let i = 0; i + itemsize <= bytes.length; i += itemsize) {
    for (let a = i, z = i + itemsize - 1; a < z; a++, z--) {
      const t = bytes[a] as number;
      bytes[a] = bytes[z] as number;
      bytes[z] = t;
    }
  }
}

const F16_EXP = new Float32Array(32);
for (let e = 0; e < 32; e++) F16_EXP[e] = 2 ** (e - 15);

export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (F16_EXP[exp] as number) * (1 + frac / 1024);
}

/** Element i of `data` as a JS number (float16 decoded, int64 converted). */
export function elementAsNumber(data: NdData, dtype: NpDtype, i: number): number {
  if (dtype === 'float16') return float16ToNumber((data as Uint16Array)[i] as number);
  if (dtype === 'int64') return Number((data as BigInt64Array)[i] as bigint);
  return (data as Float32Array)[i] as number;
}

export function toFloat32(data: NdData, dtype: NpDtype): Float32Array {
  if (dtype === 'float32') return data as Float32Array;
  const out = new Float32Array(data.length);
  if (dtype === 'float16') {
    const h = data as Uint16Array;
    for (let i = 0; i < h.length; i++) out[i] = float16ToNumber(h[i] as number);
  } else if (dtype === 'int64') {
    const b = data as BigInt64Array;
    for (let i = 0; i < b.length; i++) out[i] = Number(b[i] as bigint);
  } else {
    out.set(data as Float64Array | Int32Array | Uint8Array);
  }
  return out;
}

export function toFloat64(data: NdData, dtype: NpDtype): Float64Array {
  if (dtype === 'float64') return data as Float64Array;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = elementAsNumber(data, dtype, i);
  return out;
}

/**
 * Which stored dtypes may be fed to a model input of a given dtype. Widening only (float16 →
 * float32, int32 → int64), plus float64 → float32 (numpy's default float). Integers are never
 * fed to a float input: raw uint8 pixels are a preprocessing mismatch, not something to cast.
 */
const FEEDABLE: Record<NpDtype, readonly NpDtype[]> = {
  float32: ['float32', 'float16', 'float64'],
  float16: ['float16'],
  float64: ['float64', 'float32', 'float16'],
  int64: ['int64', 'int32', 'uint8'],
  int32: ['int32', 'uint8'],
  uint8: ['uint8'],
};

export function canFeed(stored: NpDtype, model: NpDtype): boolean {
  return FEEDABLE[model].includes(stored);
}

/** Converts stored data to the model input's dtype (see `canFeed`). */
export function castForModel(data: NdData, stored: NpDtype, model: NpDtype): NdData {
  if (stored === model) return data;
  switch (model) {
    case 'float32':
      return toFloat32(data, stored);
    case 'float64':
      return toFloat64(data, stored);
    case 'int64': {
      const out = new BigInt64Array(data.length);
      const src = data as Int32Array | Uint8Array;
      for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i] as number);
      return out;
    }
    case 'int32':
      return Int32Array.from(data as Uint8Array);
    default:
      throw new GateError('UNSUPPORTED_FORMAT', `cannot convert ${stored} test data to the model's ${model} input`);
  }
}
