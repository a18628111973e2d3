import { GateError } from '../errors.js';
import {
  GlobalRef,
  type PickleKey,
  type PickleValue,
  STORAGE_DTYPES,
  StorageRef,
  TensorMeta,
  TorchDevice,
} from './values.js';

/**
 * A restricted pickle interpreter for torch.save's data.pkl (protocols 0–5). It never imports,
 * calls or evaluates anything: GLOBAL/STACK_GLOBAL resolve only names on an allow-list (the part of
 * PyTorch's own `weights_only` allow-list that a state dict and its common metadata use: tensors,
 * parameters, storages, OrderedDict, devices, sizes, dtypes, sets, bytes, torch's version string;
 * plus numpy scalars, see docs/security.md), and REDUCE/NEWOBJ/BUILD on those names run small inert
 * decoders written here. Any other global, INST/OBJ/EXT opcodes, or a REDUCE/BUILD on anything
 * else is refused as a security finding naming the global and the byte offset.
 *
 * Work is budgeted so that no pickle can make it slow or large: opcodes executed, bytes of
 * integers decoded (LONG1/LONG4/text INT, decoded in linear time), objects and container items
 * built, memo entries, stack depth, string sizes, nesting depth and the expanded size of the result
 * (shared references counted as often as they appear: "billion laughs"). Past a budget it stops at
 * once with a finding naming the budget and the byte offset.
 */

export interface PickleLimits {
  maxMemoEntries: number;
  maxStackDepth: number;
  /** Containers created plus items put into them. */
  maxObjects: number;
  maxStringBytes: number;
  /** Size of the result if every shared reference were copied (billion-laughs guard). */
  maxExpandedObjects: number;
  maxNestingDepth: number;
  /** Bytes of one integer (LONG1/LONG4, or its decimal digits / 2.4 for text INT/LONG). */
  maxLongBytes: number;
  /** Bytes of all integers together: big integers are never needed for a state dict. */
  maxTotalLongBytes: number;
  /** Opcodes executed. */
  maxOpcodes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxMemoEntries: 1_000_000,
  maxStackDepth: 100_000,
  maxObjects: 10_000_000,
  maxStringBytes: 64 * 1024 * 1024,
  maxExpandedObjects: 20_000_000,
  maxNestingDepth: 1000,
  maxLongBytes: 4096,
  maxTotalLongBytes: 1024 * 1024,
  maxOpcodes: 20_000_000,
};

/** The globals a torch checkpoint may name, and how the interpreter treats each. */
type AllowedKind =
  | 'ordered_dict'
  | 'rebuild_tensor_v2'
  | 'rebuild_tensor'
  | 'rebuild_parameter'
  | 'rebuild_parameter_with_state'
  | 'storage_type'
  | 'device'
  | 'size'
  | 'dtype'
  | 'np_scalar'
  | 'np_dtype'
  | 'codecs_encode'
  | 'torch_version'
  | 'set'
  | 'bytearray';

const TORCH_DTYPE_NAMES = [
  'float16',
  'half',
  'bfloat16',
  'float32',
  'float',
  'float64',
  'double',
  'complex64',
  'complex128',
  'uint8',
  'int8',
  'int16',
  'short',
  'int32',
  'int',
  'int64',
  'long',
  'bool',
];

export const ALLOWED_GLOBALS: ReadonlyMap<string, AllowedKind> = new Map<string, AllowedKind>([
  ['collections.OrderedDict', 'ordered_dict'],
  ['torch._utils._rebuild_tensor_v2', 'rebuild_tensor_v2'],
  ['torch._utils._rebuild_tensor', 'rebuild_tensor'],
  ['torch._utils._rebuild_parameter', 'rebuild_parameter'],
  ['torch._utils._rebuild_parameter_with_state', 'rebuild_parameter_with_state'],
  ...Object.keys(STORAGE_DTYPES).map((n) => [`torch.${n}`, 'storage_type'] as [string, AllowedKind]),
  ['torch.device', 'device'],
  ['torch.Size', 'size'],
  ...TORCH_DTYPE_NAMES.map((n) => [`torch.${n}`, 'dtype'] as [string, AllowedKind]),
  // numpy scalars (np.float64(97.2) saved as a metric) are decoded from their raw bytes here;
  // numpy is never involved. Arrays (numpy.core.multiarray._reconstruct) are not allowed.
  ['numpy.core.multiarray.scalar', 'np_scalar'],
  ['numpy._core.multiarray.scalar', 'np_scalar'],
  ['numpy.dtype', 'np_dtype'],
  // protocol 2 pickles Python bytes as _codecs.encode(str, 'latin1'): decoded inertly.
  ['_codecs.encode', 'codecs_encode'],
  ['builtins.set', 'set'],
  ['builtins.bytearray', 'bytearray'],
  // torch.__version__ saved as metadata: a str subclass, NEWOBJ(TorchVersion, ('1.13.1',)).
  ['torch.torch_version.TorchVersion', 'torch_version'],
]);

/** Modules whose names mean the pickle was built to run code, for a clearer finding. */
const CODE_EXECUTION_MODULES = new Set([
  'os',
  'posix',
  'nt',
  'subprocess',
  'builtins',
  '__builtin__',
  'runpy',
  'pty',
  'ctypes',
  'webbrowser',
  'pkgutil',
  'importlib',
  'code',
  'codeop',
  'sys',
  'shutil',
  'socket',
  'pickle',
  '_pickle',
  'marshal',
  'types',
  'operator',
  'functools',
  'commands',
  'platform',
  'multiprocessing',
  'asyncio',
  'pdb',
  'timeit',
  'torch.storage',
  'torch.serialization',
  'torch._C',
  'numpy.testing',
  'numpy.f2py',
  'cProfile',
  'profile',
  'trace',
]);

class AllowedGlobal {
  constructor(
    readonly ref: GlobalRef,
    readonly kind: AllowedKind,
  ) {}
}

/** numpy.dtype('f8') as built by the pickle; BUILD fills in the byte order. */
class NumpyDtype {
  byteorder = '=';
  constructor(readonly code: string) {}
}

/** A set / frozenset from protocol 4 opcodes: kept as a frozen array. */
class PySet {
  readonly items: PickleValue[] = [];
}

const MARK = Symbol('mark');
type StackItem = unknown;

const OP_NAMES = new Map<number, string>([
  [0x69, 'INST'],
  [0x6f, 'OBJ'],
  [0x82, 'EXT1'],
  [0x83, 'EXT2'],
  [0x84, 'EXT4'],
  [0x50, 'PERSID'],
  [0x97, 'NEXT_BUFFER'],
  [0x98, 'READONLY_BUFFER'],
]);

export interface PickleOptions {
  /** Run-relative path of the checkpoint and the entry, for messages. */
  file: string;
  entry: string;
  limits?: Partial<PickleLimits>;
}

export interface PickleResult {
  value: PickleValue;
  storages: Map<string, StorageRef>;
  protocol: number;
  /** Every allowed global the pickle named (qualified names), for evidence. */
  globals: Set<string>;
}

const latin1 = new TextDecoder('latin1');
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Unpickles torch's data.pkl into plain data without executing anything. */
export function unpickleCheckpoint(data: Uint8Array, opts: PickleOptions): PickleResult {
  return new Unpickler(data, opts).run();
}

class Unpickler {
  private pos = 0;
  private opStart = 0;
  private stack: StackItem[] = [];
  private readonly metastack: StackItem[][] = [];
  private readonly memo = new Map<number, StackItem>();
  private objects = 0;
  private opcodes = 0;
  private longBytes = 0;
  private protocol = 0;
  private readonly storages = new Map<string, StorageRef>();
  private readonly globals = new Set<string>();
  private readonly limits: PickleLimits;
  private readonly view: DataView;

  constructor(
    private readonly data: Uint8Array,
    private readonly opts: PickleOptions,
  ) {
    this.limits = { ...DEFAULT_PICKLE_LIMITS, ...opts.limits };
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private where(): string {
    return `${this.opts.entry} byte ${this.opStart}`;
  }

  private malformed(why: string): GateError {
    return new GateError('PARSE_ERROR', `${this.opts.file}: pickle is malformed at ${this.where()}: ${why}`, {
      file: this.opts.file,
    });
  }

  private hostile(why: string): GateError {
    return new GateError(
      'UNSAFE_ARTIFACT',
      `${this.opts.file}: ${why} (at ${this.where()}); the checkpoint was not loaded and nothing in it was executed`,
      {
        file: this.opts.file,
        hostile: true,
      },
    );
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.data.length)
      throw this.malformed(`needs ${n} bytes, ${this.data.length - this.pos} left (truncated pickle)`);
  }

  private u8(): number {
    this.need(1);
    return this.data[this.pos++]!;
  }

  private bytes(n: number): Uint8Array {
    if (n > this.limits.maxStringBytes)
      throw this.hostile(`a ${n}-byte string exceeds the ${this.limits.maxStringBytes}-byte limit`);
    this.need(n);
    const b = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.limits.maxStringBytes))
      throw this.hostile(`a declared length of ${v} bytes exceeds the ${this.limits.maxStringBytes}-byte limit`);
    return Number(v);
  }

  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw this.malformed('unterminated text line');
    const s = latin1.decode(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private push(v: StackItem): void {
    this.stack.push(v);
    if (this.stack.length + this.metastack.length > this.limits.maxStackDepth) {
      throw this.hostile(`pickle stack grew beyond ${this.limits.maxStackDepth} entries`);
    }
  }

  private pop(): StackItem {
    if (this.stack.length === 0) throw this.malformed('pop from an empty stack');
    const v = this.stack.pop();
    if (v === MARK) throw this.malformed('unexpected MARK');
    return v;
  }

  private top(): StackItem {
    const v = this.stack[this.stack.length - 1];
    if (this.stack.length === 0 || v === MARK) throw this.malformed('empty stack');
    return v;
  }

  private popMark(): StackItem[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (!prev) throw this.malformed('no MARK to pop to');
    this.stack = prev;
    return items;
  }

  private count(n: number): void {
    this.objects += n;
    if (this.objects > this.limits.maxObjects)
      throw this.hostile(`pickle builds more than ${this.limits.maxObjects} objects`);
  }

  private memoPut(index: number, v: StackItem): void {
    if (!this.memo.has(index) && this.memo.size >= this.limits.maxMemoEntries) {
      throw this.hostile(`pickle memo grew beyond ${this.limits.maxMemoEntries} entries (memo bomb)`);
    }
    this.memo.set(index, v);
  }

  private memoGet(index: number): StackItem {
    if (!this.memo.has(index)) throw this.malformed(`memo entry ${index} was never stored`);
    return this.memo.get(index);
  }

  private value(v: StackItem, what: string): PickleValue {
    if (v instanceof AllowedGlobal) return v.ref;
    // A dtype is kept inside tuples (the arguments of numpy's scalar()); stored elsewhere it is a name.
    if (v instanceof NumpyDtype)
      return what === 'a tuple item' ? (v as unknown as PickleValue) : `numpy.dtype(${v.code})`;
    if (v instanceof PySet) return Object.freeze([...v.items]);
    return v as PickleValue;
  }

  private resolveGlobal(module: string, name: string): AllowedGlobal {
    const qualified = `${module}.${name}`;
    const kind = ALLOWED_GLOBALS.get(qualified);
    if (!kind) {
      const root = module.split('.')[0] ?? module;
      const why =
        CODE_EXECUTION_MODULES.has(module) || CODE_EXECUTION_MODULES.has(root) ? ' — a code-execution gadget' : '';
      throw this.hostile(
        `pickle imports ${qualified}${why}, which is not on the allow-list (what PyTorch's weights_only loader accepts for a state dict and its metadata: tensors, storages, OrderedDict, devices, sizes, dtypes, numpy scalars, torch's version)`,
      );
    }
    this.globals.add(qualified);
    return new AllowedGlobal(new GlobalRef(module, name), kind);
  }

  run(): PickleResult {
    const d = this.data;
    const maxOpcodes = this.limits.maxOpcodes;
    for (;;) {
      this.opStart = this.pos;
      if (++this.opcodes > maxOpcodes) throw this.hostile(`pickle runs more than ${maxOpcodes} opcodes (work budget)`);
      const op = this.u8();
      switch (op) {
        case 0x80: {
          // PROTO
          this.protocol = this.u8();
          if (this.protocol > 5) throw this.malformed(`unsupported pickle protocol ${this.protocol}`);
          break;
        }
        case 0x95: {
          // FRAME: framing only; the whole pickle is in memory
          const n = this.u64();
          if (this.pos + n > d.length) throw this.malformed('frame runs past the end of the pickle');
          break;
        }
        case 0x2e: {
          // STOP
          const result = this.value(this.pop(), 'the result');
          this.checkExpansion(result);
          return { value: result, storages: this.storages, protocol: this.protocol, globals: this.globals };
        }
        case 0x28: // MARK
          this.metastack.push(this.stack);
          this.stack = [];
          if (this.stack.length + this.metastack.length > this.limits.maxStackDepth)
            throw this.hostile(`pickle MARK depth beyond ${this.limits.maxStackDepth}`);
          break;
        case 0x30:
          this.pop();
          break; // POP
        case 0x31:
          this.popMark();
          break; // POP_MARK
        case 0x32:
          this.push(this.top());
          break; // DUP
        case 0x4e:
          this.push(null);
          break; // NONE
        case 0x88:
          this.push(true);
          break; // NEWTRUE
        case 0x89:
          this.push(false);
          break; // NEWFALSE
        case 0x4b:
          this.push(this.u8());
          break; // BININT1
        case 0x4d: {
          // BININT2
          this.need(2);
          this.push(this.view.getUint16(this.pos, true));
          this.pos += 2;
          break;
        }
        case 0x4a: {
          // BININT
          this.need(4);
          this.push(this.view.getInt32(this.pos, true));
          this.pos += 4;
          break;
        }
        case 0x8a:
          this.push(this.long(this.u8()));
          break; // LONG1
        case 0x8b: {
          // LONG4
          this.need(4);
          const n = this.view.getInt32(this.pos, true);
          this.pos += 4;
          if (n < 0) throw this.malformed('LONG4 with a negative length');
          this.push(this.long(n));
          break;
        }
        case 0x47: {
          // BINFLOAT (big-endian double)
          this.need(8);
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        case 0x49: {
          // INT (text): also I00/I01 booleans
          const s = this.line();
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else this.push(this.parseIntText(s));
          break;
        }
        case 0x4c:
          this.push(this.parseIntText(this.line().replace(/L$/, '')));
          break; // LONG (text)
        case 0x46: {
          // FLOAT (text)
          const s = this.line();
          const v = Number(s);
          if (!/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)$/i.test(s.trim()))
            throw this.malformed(`bad FLOAT "${s}"`);
          this.push(Number.isNaN(v) && !/nan/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : v);
          break;
        }
        case 0x58:
          this.push(this.text(this.bytes(this.u32())));
          break; // BINUNICODE
        case 0x8c:
          this.push(this.text(this.bytes(this.u8())));
          break; // SHORT_BINUNICODE
        case 0x8d:
          this.push(this.text(this.bytes(this.u64())));
          break; // BINUNICODE8
        case 0x56:
          this.push(this.rawUnicode(this.line()));
          break; // UNICODE (raw-unicode-escape)
        case 0x54: {
          // BINSTRING (py2 str): latin-1
          this.need(4);
          const n = this.view.getInt32(this.pos, true);
          this.pos += 4;
          if (n < 0) throw this.malformed('BINSTRING with a negative length');
          this.push(latin1.decode(this.bytes(n)));
          break;
        }
        case 0x55:
          this.push(latin1.decode(this.bytes(this.u8())));
          break; // SHORT_BINSTRING
        case 0x53: {
          // STRING (quoted repr)
          const s = this.line();
          const m = /^(['"])(.*)\1$/.exec(s);
          if (!m || m[2]!.includes('\\')) throw this.malformed('STRING opcode with escapes is not supported');
          this.push(m[2]!);
          break;
        }
        case 0x42:
          this.push(Uint8Array.from(this.bytes(this.u32())));
          break; // BINBYTES
        case 0x43:
          this.push(Uint8Array.from(this.bytes(this.u8())));
          break; // SHORT_BINBYTES
        case 0x8e:
          this.push(Uint8Array.from(this.bytes(this.u64())));
          break; // BINBYTES8
        case 0x96:
          this.push(Uint8Array.from(this.bytes(this.u64())));
          break; // BYTEARRAY8
        case 0x7d:
          this.count(1);
          this.push(new Map());
          break; // EMPTY_DICT
        case 0x5d:
          this.count(1);
          this.push([]);
          break; // EMPTY_LIST
        case 0x29:
          this.push(Object.freeze([]));
          break; // EMPTY_TUPLE
        case 0x8f:
          this.count(1);
          this.push(new PySet());
          break; // EMPTY_SET
        case 0x85:
          this.tuple(1);
          break; // TUPLE1
        case 0x86:
          this.tuple(2);
          break; // TUPLE2
        case 0x87:
          this.tuple(3);
          break; // TUPLE3
        case 0x74: {
          // TUPLE
          const items = this.popMark().map((v) => this.value(v, 'a tuple item'));
          this.count(items.length + 1);
          this.push(Object.freeze(items));
          break;
        }
        case 0x6c: {
          // LIST
          const items = this.popMark().map((v) => this.value(v, 'a list item'));
          this.count(items.length + 1);
          this.push(items);
          break;
        }
        case 0x64: {
          // DICT
          const items = this.popMark();
          const m = new Map<PickleKey, PickleValue>();
          this.setItems(m, items);
          this.push(m);
          break;
        }
        case 0x91: {
          // FROZENSET
          const s = new PySet();
          for (const v of this.popMark()) s.items.push(this.value(v, 'a set item'));
          this.count(s.items.length + 1);
          this.push(s);
          break;
        }
        case 0x61: {
          // APPEND
          const v = this.value(this.pop(), 'a list item');
          this.appendTo(this.top(), [v]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark().map((v) => this.value(v, 'a list item'));
          this.appendTo(this.top(), items);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.popMark().map((v) => this.value(v, 'a set item'));
          const s = this.top();
          if (!(s instanceof PySet)) throw this.hostile('ADDITEMS on something that is not a set');
          this.count(items.length);
          for (const v of items) s.items.push(v);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x71:
          this.memoPut(this.u8(), this.top());
          break; // BINPUT
        case 0x72:
          this.memoPut(this.u32(), this.top());
          break; // LONG_BINPUT
        case 0x94:
          this.memoPut(this.memo.size, this.top());
          break; // MEMOIZE
        case 0x70:
          this.memoPut(this.parseIndex(this.line()), this.top());
          break; // PUT
        case 0x68:
          this.push(this.memoGet(this.u8()));
          break; // BINGET
        case 0x6a:
          this.push(this.memoGet(this.u32()));
          break; // LONG_BINGET
        case 0x67:
          this.push(this.memoGet(this.parseIndex(this.line())));
          break; // GET
        case 0x63: {
          // GLOBAL "module\nname\n"
          const module = this.line();
          const name = this.line();
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string')
            throw this.hostile('STACK_GLOBAL with non-string module or name');
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.push(this.call(fn, args, 'REDUCE'));
          break;
        }
        case 0x81: {
          // NEWOBJ cls.__new__(cls, *args)
          const args = this.pop();
          const cls = this.pop();
          if (!(cls instanceof AllowedGlobal) || (cls.kind !== 'ordered_dict' && cls.kind !== 'torch_version')) {
            throw this.hostile(`NEWOBJ on ${describe(cls)} is not something torch.save writes`);
          }
          this.push(this.call(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (
            !(cls instanceof AllowedGlobal) ||
            cls.kind !== 'ordered_dict' ||
            !(kwargs instanceof Map) ||
            kwargs.size > 0
          ) {
            throw this.hostile(`NEWOBJ_EX on ${describe(cls)} is not something torch.save writes`);
          }
          this.push(this.call(cls, args, 'NEWOBJ_EX'));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = this.pop();
          this.push(this.persistentLoad(pid));
          break;
        }
        case 0x69: {
          // INST "module\nname\n": imports and instantiates a class
          const module = this.line();
          const name = this.line();
          this.resolveGlobal(module, name);
          throw this.hostile(`INST ${module}.${name} instantiates a class, which torch.save never writes`);
        }
        default: {
          const name = OP_NAMES.get(op);
          if (name === 'OBJ' || name?.startsWith('EXT'))
            throw this.hostile(
              `pickle opcode ${name} (imports or instantiates objects) is not something torch.save writes`,
            );
          if (name) throw this.malformed(`pickle opcode ${name} is not supported in checkpoints`);
          throw this.malformed(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
        }
      }
    }
  }

  private text(b: Uint8Array): string {
    try {
      return utf8.decode(b);
    } catch {
      // Python writes surrogates with 'surrogatepass'; keep the bytes readable rather than fail.
      return new TextDecoder('utf-8').decode(b);
    }
  }

  private rawUnicode(s: string): string {
    return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string | undefined, b: string | undefined) =>
      String.fromCodePoint(parseInt((a ?? b)!, 16)),
    );
  }

  /** Counts integer bytes against the per-integer and total budgets. */
  private spendLong(n: number): void {
    if (n > this.limits.maxLongBytes)
      throw this.hostile(`a ${n}-byte integer exceeds the ${this.limits.maxLongBytes}-byte limit`);
    this.longBytes += n;
    if (this.longBytes > this.limits.maxTotalLongBytes) {
      throw this.hostile(
        `pickle integers exceed ${this.limits.maxTotalLongBytes} bytes in total (integer bomb; a state dict needs a few bytes per integer)`,
      );
    }
  }

  private parseIntText(s: string): number | bigint {
    if (!/^[-+]?\d+$/.test(s)) throw this.malformed(`bad integer "${s.slice(0, 40)}"`);
    this.spendLong(Math.ceil(s.length / 2.4));
    const b = BigInt(s);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }

  private parseIndex(s: string): number {
    if (!/^\d{1,10}$/.test(s)) throw this.malformed(`bad memo index "${s.slice(0, 40)}"`);
    return Number(s);
  }

  /** Two's-complement little-endian integer of n bytes (LONG1/LONG4). */
  private long(n: number): number | bigint {
    this.spendLong(n);
    const b = this.bytes(n);
    if (n === 0) return 0;
    // Built from hex in one step: shifting byte by byte is quadratic in the length.
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += HEX[b[i]!];
    let v = BigInt(`0x${hex}`);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private tuple(n: number): void {
    if (this.stack.length < n) throw this.malformed(`TUPLE${n} needs ${n} items`);
    const items: PickleValue[] = [];
    for (let i = 0; i < n; i++) items.unshift(this.value(this.pop(), 'a tuple item'));
    this.count(n + 1);
    this.push(Object.freeze(items));
  }

  private appendTo(target: StackItem, items: PickleValue[]): void {
    if (!Array.isArray(target) || Object.isFrozen(target))
      throw this.hostile(`APPEND on ${describe(target)}: lists are the only append targets torch.save writes`);
    this.count(items.length);
    for (const v of items) (target as PickleValue[]).push(v);
  }

  private setItems(target: StackItem, items: StackItem[]): void {
    if (!(target instanceof Map))
      throw this.hostile(`SETITEM on ${describe(target)}: dicts are the only item targets torch.save writes`);
    if (items.length % 2 !== 0) throw this.malformed('SETITEMS with an odd number of items');
    this.count(items.length / 2);
    for (let i = 0; i < items.length; i += 2) {
      const k = this.value(items[i], 'a dict key');
      if (k instanceof Map || (Array.isArray(k) && !Object.isFrozen(k))) throw this.malformed('unhashable dict key');
      target.set(k as PickleKey, this.value(items[i + 1], 'a dict value'));
    }
  }

  private build(target: StackItem, state: StackItem): void {
    if (target instanceof Map && state instanceof Map) return; // OrderedDict attributes (state_dict's _metadata): kept out of the data
    if (target instanceof NumpyDtype && Array.isArray(state) && typeof state[1] === 'string') {
      target.byteorder = state[1];
      return;
    }
    throw this.hostile(`BUILD (__setstate__) on ${describe(target)} is not something torch.save writes`);
  }

  private args(args: StackItem, fn: AllowedGlobal, min: number, max = min): readonly StackItem[] {
    if (!Array.isArray(args)) throw this.hostile(`${fn.ref.qualifiedName} called with non-tuple arguments`);
    if (args.length < min || args.length > max)
      throw this.malformed(
        `${fn.ref.qualifiedName} takes ${min === max ? min : `${min}–${max}`} arguments, got ${args.length}`,
      );
    return args;
  }

  /** Inert decoders for the allowed callables. Nothing is ever called for real. */
  private call(fn: StackItem, rawArgs: StackItem, op: string): StackItem {
    if (!(fn instanceof AllowedGlobal))
      throw this.hostile(`${op} on ${describe(fn)}: only allow-listed torch callables may be called`);
    const name = fn.ref.qualifiedName;
    switch (fn.kind) {
      case 'ordered_dict': {
        const a = this.args(rawArgs, fn, 0, 1);
        const m = new Map<PickleKey, PickleValue>();
        if (a.length === 1) {
          const pairs = a[0];
          if (!Array.isArray(pairs)) throw this.malformed('OrderedDict(...) argument is not a list of pairs');
          for (const p of pairs as unknown[]) {
            if (!Array.isArray(p) || p.length !== 2) throw this.malformed('OrderedDict(...) item is not a pair');
            this.setItems(m, [p[0], p[1]]);
          }
        }
        this.count(1);
        return m;
      }
      case 'rebuild_tensor_v2':
      case 'rebuild_tensor': {
        const a = fn.kind === 'rebuild_tensor' ? this.args(rawArgs, fn, 4) : this.args(rawArgs, fn, 6, 7);
        return this.tensor(a[0], a[1], a[2], a[3], fn.kind === 'rebuild_tensor' ? false : a[4], false, name);
      }
      case 'rebuild_parameter':
      case 'rebuild_parameter_with_state': {
        const a = this.args(rawArgs, fn, fn.kind === 'rebuild_parameter' ? 3 : 4);
        const t = a[0];
        if (!(t instanceof TensorMeta)) throw this.hostile(`${name} called on ${describe(t)} instead of a tensor`);
        return new TensorMeta(t.storage, t.storageOffset, t.shape, t.stride, a[1] === true, true);
      }
      case 'device': {
        const a = this.args(rawArgs, fn, 1, 2);
        const [type, index] = a;
        if (typeof type !== 'string' || (index !== undefined && index !== null && typeof index !== 'number'))
          throw this.malformed('torch.device(...) with bad arguments');
        const m = /^([a-z]+)(?::(\d+))?$/.exec(type);
        if (!m) throw this.malformed(`torch.device("${type}") is not a device`);
        return new TorchDevice(m[1]!, typeof index === 'number' ? index : m[2] !== undefined ? Number(m[2]) : null);
      }
      case 'size': {
        const a = this.args(rawArgs, fn, 1);
        const dims = a[0];
        if (!Array.isArray(dims) || !dims.every((x) => typeof x === 'number'))
          throw this.malformed('torch.Size(...) of non-integers');
        return Object.freeze([...(dims as number[])]);
      }
      case 'np_dtype': {
        const a = this.args(rawArgs, fn, 1, 3);
        if (typeof a[0] !== 'string' || !/^[<>|=]?[biuf][1248]$/.test(a[0]))
          throw this.malformed(`numpy.dtype(${JSON.stringify(a[0])}) is not a numeric scalar type`);
        return new NumpyDtype(a[0]);
      }
      case 'np_scalar': {
        const a = this.args(rawArgs, fn, 1, 2);
        const [dt, raw] = a;
        if (!(dt instanceof NumpyDtype) || !(raw instanceof Uint8Array))
          throw this.malformed(`${name}(...) without a dtype and raw bytes`);
        return decodeNumpyScalar(dt, raw, () =>
          this.malformed(`numpy scalar of dtype ${dt.code} has ${raw.length} bytes`),
        );
      }
      case 'codecs_encode': {
        const a = this.args(rawArgs, fn, 1, 2);
        const [s, enc] = a;
        if (typeof s !== 'string' || (enc !== undefined && enc !== 'latin1' && enc !== 'latin-1'))
          throw this.hostile(`${name} with ${JSON.stringify(enc)} is not how pickle writes bytes`);
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          if (c > 0xff) throw this.malformed('_codecs.encode(latin1) of a non-latin-1 string');
          out[i] = c;
        }
        return out;
      }
      case 'torch_version': {
        const [v] = this.args(rawArgs, fn, 1);
        if (typeof v !== 'string' || v.length > 64)
          throw this.malformed(`${name}(...) of ${describe(v)} is not a version string`);
        return v;
      }
      case 'set': {
        const a = this.args(rawArgs, fn, 0, 1);
        const items = a[0] ?? [];
        if (!Array.isArray(items)) throw this.malformed(`${name}(...) of ${describe(items)} is not a list of items`);
        const set = new PySet();
        this.count(items.length + 1);
        for (const v of items as StackItem[]) set.items.push(this.value(v, 'a set item'));
        return set;
      }
      case 'bytearray': {
        const a = this.args(rawArgs, fn, 0, 1);
        const raw = a[0] ?? new Uint8Array(0);
        if (!(raw instanceof Uint8Array)) throw this.malformed(`${name}(...) of ${describe(raw)} is not bytes`);
        return Uint8Array.from(raw);
      }
      case 'storage_type':
      case 'dtype':
        throw this.hostile(`${op} on ${name} is not something torch.save writes`);
    }
  }

  private tensor(
    storage: StackItem,
    offset: StackItem,
    size: StackItem,
    stride: StackItem,
    requiresGrad: StackItem,
    isParameter: boolean,
    fn: string,
  ): TensorMeta {
    if (!(storage instanceof StorageRef))
      throw this.hostile(`${fn} called on ${describe(storage)} instead of a storage`);
    const ints = (v: StackItem): v is number[] =>
      Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);
    if (
      typeof offset !== 'number' ||
      !Number.isInteger(offset) ||
      offset < 0 ||
      !ints(size) ||
      !ints(stride) ||
      size.length !== stride.length
    ) {
      throw this.malformed(`${fn} with a bad offset, size or stride`);
    }
    // The furthest element the view touches must lie inside the storage.
    const numel = size.reduce((a, b) => a * b, 1);
    if (numel > 0) {
      const last = offset + size.reduce((acc, dim, i) => acc + (dim - 1) * stride[i]!, 0);
      if (last >= storage.numel) {
        throw this.hostile(
          `tensor view (offset ${offset}, shape [${size.join(', ')}], stride [${stride.join(', ')}]) reaches element ${last} of a ${storage.numel}-element storage`,
        );
      }
    }
    return new TensorMeta(
      storage,
      offset,
      Object.freeze([...size]),
      Object.freeze([...stride]),
      requiresGrad === true,
      isParameter,
    );
  }

  private persistentLoad(pid: StackItem): StorageRef {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5)
      throw this.hostile(`persistent id ${describe(pid)} is not a torch storage record`);
    const [, type, key, location, numel] = pid as unknown[];
    // Tuple items hold allowed globals as GlobalRef (only resolveGlobal creates them).
    const typeName = type instanceof AllowedGlobal ? type.ref : type instanceof GlobalRef ? type : null;
    if (!typeName || ALLOWED_GLOBALS.get(typeName.qualifiedName) !== 'storage_type') {
      throw this.hostile(`persistent id names ${describe(type)} instead of a torch storage type`);
    }
    if (typeof key !== 'string' || !/^[0-9A-Za-z_.-]{1,64}$/.test(key))
      throw this.hostile(`storage key ${JSON.stringify(key)} is not a plain name`);
    if (typeof location !== 'string' || typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0)
      throw this.malformed('storage record with a bad location or element count');
    const dtype = STORAGE_DTYPES[typeName.name]!;
    const prior = this.storages.get(key);
    if (prior) {
      if (prior.dtype !== dtype || prior.numel !== numel)
        throw this.hostile(`storage ${key} is declared twice with different types or sizes`);
      return prior;
    }
    const ref = new StorageRef(key, dtype, numel, location);
    this.storages.set(key, ref);
    return ref;
  }

  /**
   * Refuses results whose size, with shared references expanded, is absurd (billion laughs) or
   * that contain cycles or very deep nesting: consumers walk this data.
   */
  private checkExpansion(root: PickleValue): void {
    const size = new Map<object, number>();
    const onPath = new Set<object>();
    type Frame = { node: object; children: PickleValue[]; i: number; total: number };
    const childrenOf = (v: object): PickleValue[] | null => {
      if (v instanceof Map) {
        const out: PickleValue[] = [];
        for (const [k, val] of v) out.push(k as PickleValue, val);
        return out;
      }
      if (Array.isArray(v)) return v as PickleValue[];
      return null;
    };
    const rootKids = root !== null && typeof root === 'object' ? childrenOf(root) : null;
    if (!rootKids) return;
    const stack: Frame[] = [{ node: root as object, children: rootKids, i: 0, total: 1 }];
    onPath.add(root as object);
    const limit = this.limits.maxExpandedObjects;
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      if (f.i < f.children.length) {
        const c = f.children[f.i++];
        const kids = c !== null && typeof c === 'object' ? childrenOf(c) : null;
        if (!kids) {
          f.total += 1;
        } else if (size.has(c as object)) {
          f.total += size.get(c as object)!;
        } else {
          if (onPath.has(c as object)) throw this.hostile('pickle builds a container that contains itself');
          if (stack.length >= this.limits.maxNestingDepth)
            throw this.hostile(`pickle nests containers deeper than ${this.limits.maxNestingDepth} levels`);
          onPath.add(c as object);
          stack.push({ node: c as object, children: kids, i: 0, total: 1 });
        }
        if (f.total > limit)
          throw this.hostile(
            `pickle expands to more than ${limit} objects through shared references (billion-laughs memo bomb)`,
          );
      } else {
        stack.pop();
        onPath.delete(f.node);
        size.set(f.node, f.total);
        const parent = stack[stack.length - 1];
        if (parent) {
          parent.total += f.total;
          if (parent.total > limit)
            throw this.hostile(
              `pickle expands to more than ${limit} objects through shared references (billion-laughs memo bomb)`,
            );
        }
      }
    }
  }
}

function describe(v: unknown): string {
  if (v instanceof AllowedGlobal) return v.ref.qualifiedName;
  if (v instanceof GlobalRef) return v.qualifiedName;
  if (v === null) return 'None';
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'a tuple' : 'a list';
  if (v instanceof TensorMeta) return 'a tensor';
  if (v instanceof StorageRef) return 'a storage';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 40))}`;
  if (v instanceof NumpyDtype) return 'a numpy dtype';
  if (v instanceof PySet) return 'a set';
  return `a ${typeof v}`;
}

function decodeNumpyScalar(dt: NumpyDtype, raw: Uint8Array, bad: () => Error): number | bigint | boolean {
  const m = /^([<>|=]?)([biuf])([1248])$/.exec(dt.code)!;
  const kind = m[2]!;
  const n = Number(m[3]);
  if (raw.length !== n) throw bad();
  const order = m[1] || dt.byteorder;
  const little = order !== '>';
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const safe = (b: bigint) =>
    b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  switch (`${kind}${n}`) {
    case 'b1':
      return raw[0] !== 0;
    case 'i1':
      return v.getInt8(0);
    case 'u1':
      return v.getUint8(0);
    case 'i2':
      return v.getInt16(0, little);
    case 'u2':
      return v.getUint16(0, little);
    case 'i4':
      return v.getInt32(0, little);
    case 'u4':
      return v.getUint32(0, little);
    case 'i8':
      return safe(v.getBigInt64(0, little));
    case 'u8':
      return safe(v.getBigUint64(0, little));
    case 'f2':
      return halfToNumber(v.getUint16(0, little));
    case 'f4':
      return v.getFloat32(0, little);
    case 'f8':
      return v.getFloat64(0, little);
    default:
      throw bad();
  }
}

export function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
