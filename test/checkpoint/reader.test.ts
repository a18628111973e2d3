import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { Checkpoint, checkpointLimits, walkTensors } from '../../src/checkpoint/reader.js';
import { readCheckpointMetadata } from '../../src/checkpoint/summary.js';
import { TensorMeta, type TorchDevice } from '../../src/checkpoint/values.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { type BuildEntry, buildZip } from '../formats/zip-builder.js';
import { REPO_ROOT } from '../helpers/runs.js';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/checkpoints');
const limits = checkpointLimits(DEFAULT_POLICY);
let run: RunArtifacts;
let scalars: Checkpoint;

beforeAll(async () => {
  run = await RunArtifacts.open(FIXTURES);
});
// Opened for each test rather than once for the file: code run in a beforeAll belongs to no test,
// so mutation testing would run every core test against each reader and zip mutant.
beforeEach(async () => {
  scalars = await Checkpoint.open(run, 'scalars.pt', limits);
});
afterEach(async () => {
  await scalars.close();
});

const get = (k: string) => (scalars.data as Map<string, unknown>).get(k);
const floats = (b: Buffer) => Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4));

describe('checkpoint reader on real torch.save files', () => {
  it('reads normal.pt metadata without reading tensor data', async () => {
    const s = await readCheckpointMetadata(run, 'normal.pt', limits);
    expect(s.prefix).toBe('normal');
    expect(s.epoch).toEqual({ value: 17, key: 'epoch' });
    expect(s.valAcc).toEqual({ value: 97.24, key: 'val_acc' });
    expect(s.tensorCount).toBe(9);
    expect(s.parameters).toBe(64 * 32 + 32 + 32 + 32 + 32 * 10 + 10);
    expect(s.finalLayer).toEqual({ name: 'fc2.weight', shape: [10, 32], classes: 10 });
    // fc1.weight alone is 8 KB: the read must stay below the tensor data
    expect(s.bytesRead).toBeLessThan(s.bytes - 8192);
  });

  it('finds data.pkl under archive/ when torch saved to a buffer', async () => {
    const s = await readCheckpointMetadata(run, 'archive.pt', limits);
    expect(s.prefix).toBe('archive');
    expect(s.epoch?.value).toBe(17);
  });

  it('reads a nested metrics dict and an optimizer state', async () => {
    const nested = await readCheckpointMetadata(run, 'nested_metrics.pt', limits);
    expect(nested.valAcc).toEqual({ value: 0.9611, key: 'metrics.val_acc' });
    const opt = await Checkpoint.open(run, 'optimizer.pt', limits);
    try {
      const state = (opt.data as Map<string, unknown>).get('optimizer_state_dict') as Map<string, unknown>;
      const groups = state.get('param_groups') as Map<string, unknown>[];
      expect(groups[0]!.get('lr')).toBe(0.001);
      expect(groups[0]!.get('betas')).toEqual([0.9, 0.999]);
      const perParam = state.get('state') as Map<number, Map<string, unknown>>;
      expect([...perParam.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
      expect(perParam.get(0)!.get('exp_avg')).toBeInstanceOf(TensorMeta);
    } finally {
      await opt.close();
    }
  });

  it('decodes negative and big ints, numpy scalars, non-ASCII keys, devices and sizes', () => {
    expect(get('neg_small')).toBe(-1);
    expect(get('neg_byte')).toBe(-129);
    expect(get('neg_int32')).toBe(-2147483648);
    expect(get('big_pos')).toBe(2n ** 70n);
    expect(get('big_neg')).toBe(-(2n ** 70n));
    expect(get('max_safe_plus')).toBe(2n ** 53n + 1n);
    expect(get('int64_min')).toBe(-(2n ** 63n));
    expect(get('np_float')).toBe(97.24);
    expect(get('np_int')).toBe(-5);
    expect(get('точность')).toBe(0.5);
    expect(get('クラス')).toEqual(['ä', 'ß', '😀']);
    expect(String(get('device') as TorchDevice)).toBe('cpu');
    expect(get('size')).toEqual([3, 4]);
    expect(get('raw')).toEqual(Uint8Array.from([0, 1, 255]));
    expect(get('nested')).toEqual(
      new Map<string, unknown>([
        ['tuple', [1, 2.5, null, true]],
        ['empty', new Map()],
        ['list', []],
      ]),
    );
    expect((get('param') as TensorMeta).isParameter).toBe(true);
  });

  it('shares one storage between a tensor and its views, with offsets and strides', async () => {
    const base = get('base') as TensorMeta;
    const rows = get('view_rows') as TensorMeta;
    const t = get('transposed') as TensorMeta;
    const col = get('column') as TensorMeta;
    expect(rows.storage).toBe(base.storage);
    expect(t.storage).toBe(base.storage);
    expect([rows.storageOffset, rows.shape, rows.stride]).toEqual([8, [3, 4], [6, 1]]);
    expect([t.shape, t.stride]).toEqual([
      [6, 4],
      [1, 6],
    ]);
    expect([col.storageOffset, col.shape, col.stride]).toEqual([2, [4], [6]]);
    expect(floats(await scalars.readTensorBytes(base))).toEqual([...Array(24).keys()]);
    expect(floats(await scalars.readTensorBytes(rows))).toEqual([8, 9, 10, 11, 14, 15, 16, 17, 20, 21, 22, 23]);
    expect(floats(await scalars.readTensorBytes(col))).toEqual([2, 8, 14, 20]);
    expect(floats(await scalars.readTensorBytes(t)).slice(0, 6)).toEqual([0, 6, 12, 18, 1, 7]);
  });

  it('reads int64, half, bfloat16 and bool scalars from storage on demand', async () => {
    const i64 = get('int64_scalar') as TensorMeta;
    expect(i64.dtype).toBe('int64');
    expect(i64.shape).toEqual([]);
    expect(await scalars.readScalar(i64)).toBe(-7);
    const half = get('half') as TensorMeta;
    expect(half.dtype).toBe('float16');
    expect([...walkTensors(scalars.data)].map(([p]) => p)).toContain('flags');
    expect(await scalars.readScalar(get('bf16') as TensorMeta)).toBe(1);
  });
});

describe('checkpoint reader refusals', () => {
  const hostile: [string, RegExp][] = [
    ['os_system.pt', /posix\.system.*byte 929/],
    ['gadget_eval.pt', /builtins\.eval/],
    ['gadget_exec.pt', /builtins\.exec/],
    ['gadget_runpy.pt', /runpy\._run_code/],
    ['gadget_getattr.pt', /builtins\.getattr/],
    ['gadget_subprocess.pt', /subprocess\.check_call/],
    ['zip_slip.pt', /"\.\.\/\.\.\/evil\.sh" contains "\.\."/],
    ['zip_bomb.pt', /zip bomb refused/],
    ['memo_bomb.pt', /billion-laughs/],
    ['duplicate_entry.pt', /two entries named "archive\/data\.pkl"/],
    ['header_mismatch.pt', /local header and central directory disagree about the name/],
    [
      'eocd_differential.pt',
      /second end record \(end-of-central-directory signature at byte 24560\) after its end record at byte 23875.*miniz/,
    ],
    [
      'torchscript_polyglot.pt',
      /a TorchScript archive \(constants\.pkl, code\/__torch__\.py, .*torch\.jit\.load.*weights_only=True.*also: pickle imports __torch__\.Stateful.*archive\/constants\.pkl byte 2/,
    ],
    [
      'torchscript_model.pt',
      /torchscript_model\.pt: a TorchScript archive \(code\/__torch__\/torch\/nn\/modules\/linear\.py/,
    ],
    [
      'linear_module.pt',
      /pickle imports torch\.nn\.modules\.linear\.Linear, which is not on the allow-list .* \(at linear_module\/data\.pkl byte \d+\)/,
    ],
    ['main_config.pt', /pickle imports __main__\.Config, which is not on the allow-list/],
  ];
  for (const [file, message] of hostile) {
    it(`refuses ${file} as a security finding`, async () => {
      await expect(readCheckpointMetadata(run, file, limits)).rejects.toThrow(
        expect.objectContaining({ code: 'UNSAFE_ARTIFACT', hostile: true, message: expect.stringMatching(message) }),
      );
    });
  }

  it('reports a truncated zip clearly, not as a crash', async () => {
    await expect(readCheckpointMetadata(run, 'truncated.pt', limits)).rejects.toThrow(
      expect.objectContaining({
        code: 'PARSE_ERROR',
        hostile: false,
        message: expect.stringMatching(/truncated or corrupt/),
      }),
    );
  });

  it('recognises the legacy format without unpickling it', async () => {
    await expect(readCheckpointMetadata(run, 'legacy.pt', limits)).rejects.toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED_FORMAT',
        message: expect.stringMatching(
          /legacy torch serialization; re-save with torch\.save\(\.\.\., _use_new_zipfile_serialization=True\)/,
        ),
      }),
    );
  });

  it('applies the policy caps (pickle size, total uncompressed size)', async () => {
    await expect(readCheckpointMetadata(run, 'normal.pt', { ...limits, maxPickleBytes: 100 })).rejects.toThrow(
      /limits\.max_pickle_bytes/,
    );
    await expect(
      readCheckpointMetadata(run, 'normal.pt', { ...limits, zip: { ...limits.zip, maxTotalUncompressedBytes: 4096 } }),
    ).rejects.toThrow(
      expect.objectContaining({ hostile: true, message: expect.stringMatching(/max_checkpoint_uncompressed_bytes/) }),
    );
  });
});

describe('checkpoint archives torch.load would read differently', () => {
  let dir: string;
  let tmp: RunArtifacts;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ckpt-layout-'));
    tmp = await RunArtifacts.open(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const u = (s: string) =>
    Buffer.concat([Buffer.from('X'), Buffer.from(Uint32Array.of(Buffer.byteLength(s)).buffer), Buffer.from(s)]);
  const okPkl = Buffer.concat([Buffer.from([0x80, 2, 0x7d, 0x28]), u('epoch'), Buffer.from([0x4b, 1, 0x75, 0x2e])]);
  const evilPkl = Buffer.concat([
    Buffer.from([0x80, 2]),
    Buffer.from('cos\nsystem\n'),
    u('touch /tmp/x'),
    Buffer.from([0x85, 0x52, 0x2e]),
  ]);
  const entries = (...extra: [string, Buffer][]): BuildEntry[] =>
    [['a/data.pkl', okPkl], ['a/version', Buffer.from('3\n')], ...extra].map(([name, data]) => ({
      name: name as string,
      data: data as Buffer,
    }));
  async function read(list: BuildEntry[]) {
    const name = `c${Math.random().toString(36).slice(2)}.pt`;
    await writeFile(path.join(dir, name), buildZip(list));
    return readCheckpointMetadata(tmp, name, limits);
  }
  const refused = (re: RegExp) =>
    expect.objectContaining({ code: 'UNSAFE_ARTIFACT', hostile: true, message: expect.stringMatching(re) });

  it('reads a minimal torch.save layout (and the records newer torch versions add)', async () => {
    await expect(read(entries())).resolves.toMatchObject({ epoch: { value: 1 } });
    const newer = entries(
      ['a/byteorder', Buffer.from('little')],
      ['a/.format_version', Buffer.from('1')],
      ['a/.storage_alignment', Buffer.from('64')],
      ['a/.data/serialization_id', Buffer.from('123')],
    );
    await expect(read(newer)).resolves.toMatchObject({ epoch: { value: 1 } });
  });

  for (const [record, data] of [
    ['a/constants.pkl', okPkl],
    ['a/code/__torch__.py', Buffer.from('class M(Module): pass\n')],
    ['a/extra/notes.txt', Buffer.from('x')],
    ['a/.data/version', Buffer.from('10\n')],
  ] as const) {
    it(`refuses a TorchScript record ${record} as a security finding`, async () => {
      await expect(read(entries([record, Buffer.from(data)]))).rejects.toThrow(
        refused(new RegExp(`a TorchScript archive \\(${record.slice(2).replace(/\./g, '\\.')}\\).*torch\\.jit\\.load`)),
      );
    });
  }

  it('refuses a version torch.save never writes (torch.jit.save writes higher ones)', async () => {
    const list = entries();
    list[1] = { name: 'a/version', data: Buffer.from('6\n') };
    await expect(read(list)).rejects.toThrow(refused(/a TorchScript archive \(version "6"\)/));
  });

  it('refuses a second pickle, and reads it with the restricted interpreter', async () => {
    await expect(read(entries(['a/other.pkl', okPkl]))).rejects.toThrow(
      refused(/holds 2 pickles \(a\/data\.pkl, a\/other\.pkl\)/),
    );
    await expect(read(entries(['a/other.pkl', evilPkl]))).rejects.toThrow(
      refused(/holds 2 pickles .*also: pickle imports os\.system — a code-execution gadget.*at a\/other\.pkl byte 2/),
    );
  });

  it('refuses records torch.save never writes and entries outside the archive folder', async () => {
    await expect(read(entries(['a/notes.txt', Buffer.from('hi')]))).rejects.toThrow(
      refused(/records torch\.save never writes \(notes\.txt\)/),
    );
    await expect(read(entries(['b/data.pkl', evilPkl]))).rejects.toThrow(
      refused(/entry "b\/data\.pkl" is outside the folder "a\/" that torch\.load reads/),
    );
  });

  it('reports a missing version record as unreadable, not hostile', async () => {
    await expect(read(entries().slice(0, 1))).rejects.toThrow(
      expect.objectContaining({
        code: 'PARSE_ERROR',
        hostile: false,
        message: expect.stringMatching(/no a\/version record/),
      }),
    );
  });
});

describe('allow-listed metadata', () => {
  it('reads torch.__version__ (a TorchVersion) as its string', async () => {
    const ck = await Checkpoint.open(run, 'torch_version.pt', limits);
    try {
      expect((ck.data as Map<string, unknown>).get('torch_version')).toMatch(/^1\.13/);
      expect([...ck.globals]).toContain('torch.torch_version.TorchVersion');
    } finally {
      await ck.close();
    }
  });
});

describe('legacy format detection', () => {
  it('recognises a legacy file written with pickle protocol 4', async () => {
    await expect(readCheckpointMetadata(run, 'legacy_protocol4.pt', limits)).rejects.toThrow(
      /legacy torch serialization/,
    );
  });
});

describe('other torch.save variants', () => {
  it('reads epoch and val_acc saved as 0-dim int64/float64 tensors from their storages', async () => {
    const s = await readCheckpointMetadata(run, 'tensor_scalars.pt', limits);
    expect(s.epoch).toEqual({ value: 17, key: 'epoch' });
    expect(s.valAcc).toEqual({ value: 0.9724, key: 'val_acc' });
  });

  for (const proto of [4, 5]) {
    it(`reads a checkpoint pickled with protocol ${proto} (FRAME, MEMOIZE, STACK_GLOBAL)`, async () => {
      const s = await readCheckpointMetadata(run, `protocol${proto}.pt`, limits);
      expect(s.protocol).toBe(proto);
      expect(s.tensorCount).toBe(9);
      expect(s.epoch?.value).toBe(17);
      expect(s.globals).toContain('torch._utils._rebuild_tensor_v2');
    });
  }
});
