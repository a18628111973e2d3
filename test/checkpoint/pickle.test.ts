import { describe, expect, it } from 'vitest';
import { unpickleCheckpoint } from '../../src/checkpoint/pickle.js';
import { TensorMeta } from '../../src/checkpoint/values.js';

const opts = { file: 'ckpt.pt', entry: 'archive/data.pkl' };
const bin = (...parts: (number[] | Uint8Array | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p as number[]))));
/** BINUNICODE */
const u = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from('X'), len, b]);
};
/** LONG1 of a bigint, two's complement little-endian, minimal length. */
const long1 = (v: bigint) => {
  const bytes: number[] = [];
  let x = v;
  for (;;) {
    bytes.push(Number(x & 0xffn));
    x >>= 8n;
    const top = bytes[bytes.length - 1]! & 0x80;
    if ((x === 0n && !top) || (x === -1n && top)) break;
  }
  return bin([0x8a, bytes.length], bytes);
};
const decode = (b: Buffer, limits = {}) => unpickleCheckpoint(b, { ...opts, limits }).value;

describe('restricted pickle interpreter: numbers', () => {
  it('decodes negative and big integers exactly (LONG1, BININT, text INT)', () => {
    const values = [-1n, -128n, -129n, 255n, -(2n ** 31n), 2n ** 53n + 1n, 2n ** 70n, -(2n ** 70n), -(2n ** 63n)];
    const p = bin(
      [0x80, 2, 0x5d, 0x28],
      ...values.map(long1),
      bin([0x4a, 0xff, 0xff, 0xff, 0xff]),
      'I-42\n',
      'L-99999999999999999999L\n',
      [0x65, 0x2e],
    );
    const out = decode(p) as unknown[];
    expect(out).toEqual([
      -1,
      -128,
      -129,
      255,
      -(2 ** 31),
      2n ** 53n + 1n,
      2n ** 70n,
      -(2n ** 70n),
      -(2n ** 63n),
      -1,
      -42,
      -99999999999999999999n,
    ]);
  });

  it('reads BINFLOAT big-endian and booleans/None', () => {
    const f = Buffer.alloc(9);
    f[0] = 0x47;
    f.writeDoubleBE(97.24, 1);
    expect(decode(bin([0x80, 2, 0x28], f, [0x88, 0x89, 0x4e, 0x74, 0x2e]))).toEqual([97.24, true, false, null]);
  });
});

describe('restricted pickle interpreter: refusals', () => {
  it('refuses an unknown GLOBAL naming it and the offset', () => {
    const p = bin([0x80, 2], 'cos\nsystem\n', u('id'), [0x85, 0x52, 0x2e]);
    expect(() => decode(p)).toThrow(/os\.system .*at archive\/data\.pkl byte 2/);
  });

  it('refuses every global off the allow-list, not only known code-execution modules', () => {
    // none of these modules is a known gadget; the interpreter still resolves nothing it does not list
    for (const [module, name] of [
      ['__main__', 'Net'],
      ['torch.nn.modules.linear', 'Linear'],
      ['numpy.core.multiarray', '_reconstruct'],
      ['collections', 'defaultdict'],
      ['torch', 'load'],
    ] as const) {
      const p = bin([0x80, 2], `c${module}\n${name}\n`, [0x2e]);
      expect(() => decode(p)).toThrow(
        expect.objectContaining({
          code: 'UNSAFE_ARTIFACT',
          hostile: true,
          message: expect.stringMatching(
            new RegExp(`imports ${module.replaceAll('.', '\\.')}\\.${name}, which is not on the allow-list`),
          ),
        }),
      );
    }
    // a gadget module is named as such
    expect(() => decode(bin([0x80, 2], 'csubprocess\nPopen\n', [0x2e]))).toThrow(
      /subprocess\.Popen — a code-execution gadget, which is not on the allow-list/,
    );
    // while a listed global resolves
    expect(() => decode(bin([0x80, 2], 'ccollections\nOrderedDict\n', [0x2e]))).not.toThrow();
  });

  it('refuses STACK_GLOBAL gadgets (builtins.getattr) as hostile', () => {
    const p = bin([0x80, 4, 0x8c, 8], 'builtins', [0x8c, 7], 'getattr', [0x93, 0x2e]);
    expect(() => decode(p)).toThrow(
      expect.objectContaining({
        code: 'UNSAFE_ARTIFACT',
        hostile: true,
        message: expect.stringMatching(/builtins\.getattr/),
      }),
    );
  });

  it('refuses INST and EXT opcodes', () => {
    expect(() => decode(bin([0x28], 'isubprocess\nPopen\n', [0x2e]))).toThrow(/subprocess\.Popen/);
    expect(() => decode(bin([0x80, 2, 0x82, 1, 0x2e]))).toThrow(expect.objectContaining({ hostile: true }));
  });

  it('refuses REDUCE on a value that is not an allowed callable', () => {
    expect(() => decode(bin([0x80, 2], u('os.system'), [0x29, 0x52, 0x2e]))).toThrow(
      /REDUCE on the string "os\.system"/,
    );
  });

  it('refuses REDUCE on an allowed global that torch never calls (a storage class)', () => {
    expect(() => decode(bin([0x80, 2], 'ctorch\nFloatStorage\n', [0x29, 0x52, 0x2e]))).toThrow(
      /REDUCE on torch\.FloatStorage/,
    );
  });

  it('refuses BUILD on a plain list (arbitrary __setstate__)', () => {
    expect(() => decode(bin([0x80, 2, 0x5d, 0x7d, 0x62, 0x2e]))).toThrow(/BUILD/);
  });

  it('caps the memo (memo flood)', () => {
    const p = bin([0x80, 4, 0x5d], new Array(50).fill(0x94), [0x2e]);
    expect(() => decode(p, { maxMemoEntries: 10 })).toThrow(/memo grew beyond 10 entries/);
    expect(decode(p)).toEqual([]);
  });

  it('caps the stack depth', () => {
    const p = bin([0x80, 2], new Array(100).fill(0x4e), [0x2e]);
    expect(() => decode(p, { maxStackDepth: 50 })).toThrow(/stack grew beyond 50/);
  });

  it('refuses a self-containing list', () => {
    // L = []; L.append(L)
    const p = bin([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]);
    expect(() => decode(p)).toThrow(/contains itself/);
  });

  it('refuses absurd integer sizes and truncated pickles', () => {
    expect(() => decode(bin([0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x00]))).toThrow(
      expect.objectContaining({ hostile: true }),
    );
    expect(() => decode(bin([0x80, 2, 0x58, 0x10, 0, 0, 0, 0x61]))).toThrow(/truncated pickle/);
  });

  it('refuses persistent ids that are not torch storage records', () => {
    expect(() => decode(bin([0x80, 2], u('storage'), 'cos\nsystem\n', [0x86, 0x51, 0x2e]))).toThrow(/os\.system/);
    expect(() => decode(bin([0x80, 2], u('x'), [0x51, 0x2e]))).toThrow(/not a torch storage record/);
  });
});

describe('restricted pickle interpreter: work budgets', () => {
  const long4 = (bytes: Buffer) => bin([0x8b], Buffer.from(Uint32Array.of(bytes.length).buffer), bytes);

  it('decodes a 4096-byte integer exactly, in linear time', () => {
    const bytes = Buffer.alloc(4096, 0xab);
    bytes[4095] = 0x12; // positive
    const expected = BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);
    expect(decode(bin([0x80, 2], long4(bytes), [0x2e]))).toBe(expected);
  });

  it('stops at the total integer budget, naming it and the offset', () => {
    const one = long4(Buffer.alloc(1000, 1));
    const p = bin([0x80, 2, 0x5d, 0x28], ...new Array<Buffer>(20).fill(one), [0x65, 0x2e]);
    expect(() => decode(p, { maxTotalLongBytes: 10_000 })).toThrow(
      expect.objectContaining({
        hostile: true,
        message: expect.stringMatching(
          /integers exceed 10000 bytes in total \(integer bomb.*at archive\/data\.pkl byte 10054\)/,
        ),
      }),
    );
    expect((decode(p) as unknown[]).length).toBe(20);
  });

  it('counts text integers (INT/LONG opcodes) against the same budget', () => {
    const p = bin([0x80, 2, 0x5d, 0x28], ...new Array<string>(10).fill(`L${'9'.repeat(2400)}L\n`), [0x65, 0x2e]);
    expect(() => decode(p, { maxTotalLongBytes: 5000 })).toThrow(/integers exceed 5000 bytes in total/);
  });

  it('stops past the opcode budget', () => {
    const p = bin([0x80, 2], new Array(1000).fill(0x4e), new Array(999).fill(0x30), [0x2e]);
    expect(() => decode(p, { maxOpcodes: 500 })).toThrow(
      expect.objectContaining({
        hostile: true,
        message: expect.stringMatching(/more than 500 opcodes \(work budget\)/),
      }),
    );
    expect(decode(p)).toBeNull();
  });
});

describe('restricted pickle interpreter: torch structures', () => {
  it('rebuilds tensor metadata from _rebuild_tensor_v2 without reading data, sharing storages', () => {
    const storage = bin([0x28], u('storage'), 'ctorch\nFloatStorage\n', u('0'), u('cpu'), [0x4b, 24, 0x74, 0x51]);
    const hooks = bin('ccollections\nOrderedDict\n', [0x29, 0x52]);
    const tensor = (offset: number, shape: number[], stride: number[]) =>
      bin(
        'ctorch._utils\n_rebuild_tensor_v2\n',
        [0x28],
        storage,
        [0x4b, offset, 0x28],
        ...shape.map((s) => [0x4b, s]),
        [0x74, 0x28],
        ...stride.map((s) => [0x4b, s]),
        [0x74, 0x89],
        hooks,
        [0x74, 0x52],
      );
    const p = bin(
      [0x80, 2, 0x7d, 0x28],
      u('a'),
      tensor(0, [4, 6], [6, 1]),
      u('v'),
      tensor(8, [3, 4], [6, 1]),
      [0x75, 0x2e],
    );
    const { value, storages } = unpickleCheckpoint(p, opts);
    const m = value as Map<string, TensorMeta>;
    expect(m.get('a')).toBeInstanceOf(TensorMeta);
    expect(m.get('v')!.storage).toBe(m.get('a')!.storage);
    expect(m.get('v')!.storageOffset).toBe(8);
    expect(m.get('v')!.isContiguous).toBe(false);
    expect(storages.size).toBe(1);
  });

  it('refuses a view that reaches past its storage', () => {
    const p = bin(
      [0x80, 2],
      'ctorch._utils\n_rebuild_tensor_v2\n',
      [0x28, 0x28],
      u('storage'),
      'ctorch\nFloatStorage\n',
      u('0'),
      u('cpu'),
      [0x4b, 4, 0x74, 0x51, 0x4b, 2, 0x4b, 4, 0x85, 0x4b, 1, 0x85, 0x89, 0x4e, 0x74, 0x52, 0x2e],
    );
    expect(() => decode(p)).toThrow(/reaches element 5 of a 4-element storage/);
  });
});
