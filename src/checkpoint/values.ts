/**
 * The plain data a checkpoint's pickle decodes to. Nothing here can execute: tensors are metadata
 * records pointing at a storage entry of the zip, dicts are Maps, tuples are frozen arrays.
 */

export type TorchDtype =
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64'
  | 'complex64'
  | 'complex128'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool';

export const DTYPE_BYTES: Record<TorchDtype, number> = {
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
  complex64: 8,
  complex128: 16,
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
};

/** torch's legacy typed storage classes, as torch.save names them in persistent ids. */
export const STORAGE_DTYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
  UntypedStorage: 'uint8',
};

/** A storage record from a persistent id: ('storage', torch.FloatStorage, key, location, numel). */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    /** Number of elements of `dtype`. */
    readonly numel: number,
    readonly location: string,
  ) {}

  get byteLength(): number {
    return this.numel * DTYPE_BYTES[this.dtype];
  }
}

/** Tensor metadata (what torch._utils._rebuild_tensor_v2 would build), without its data. */
export class TensorMeta {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
    readonly isParameter: boolean,
  ) {}

  get dtype(): TorchDtype {
    return this.storage.dtype;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** True when the elements are laid out in row-major order without gaps. */
  get isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const dim = this.shape[i]!;
      if (dim !== 1 && this.stride[i] !== expected) return false;
      expected *= dim;
    }
    return true;
  }
}

/** torch.device('cpu') / torch.device('cuda', 0). */
export class TorchDevice {
  constructor(
    readonly type: string,
    readonly index: number | null,
  ) {}

  toString(): string {
    return this.index === null ? this.type : `${this.type}:${this.index}`;
  }
}

/** A reference to an allowed global that was not called (e.g. torch.float32 saved as a value). */
export class GlobalRef {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export type PickleKey = string | number | bigint | boolean | null | readonly PickleValue[];

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly PickleValue[]
  | Map<PickleKey, PickleValue>
  | TensorMeta
  | StorageRef
  | TorchDevice
  | GlobalRef;

/** A number from a decoded value (int, float, bigint in range, 0-dim numeric tensor is not read). */
export function asNumber(v: PickleValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  return null;
}
