import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { check as parityCheck } from '../../src/checks/export-parity.js';
import { runCheck } from '../../src/checks/runner.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import {
  float16ToNumber,
  listNpz,
  openNpy,
  openNpzEntry,
  openTestArray,
  readAllLabels,
  toFloat32,
  validateLabels,
} from '../../src/testset/index.js';
import { encodeNpy } from '../../src/testset/npy.js';
import { buildZip } from '../formats/zip-builder.js';
import { runOn } from '../helpers/check.js';
import { deflateBombEntry } from '../helpers/hostile-artifacts.js';
import { cleanupRuns, copyExampleRun, REPO_ROOT } from '../helpers/runs.js';

/** Plain numbers from any typed array the readers return (int64 as Number). */
const numbers = (a: ArrayLike<number | bigint>): number[] => Array.from(a as ArrayLike<number | bigint>, Number);

const FIX = path.join(REPO_ROOT, 'test/fixtures/onnx/testset');
let dir: string;
let run: RunArtifacts;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'testset-'));
  for (const f of [
    'f32.npy',
    'f16.npy',
    'f64.npy',
    'i64.npy',
    'i32.npy',
    'u1.npy',
    'f32-big-endian.npy',
    'fortran.npy',
    'c-order.npy',
    'labels.npy',
    'labels-float.npy',
    'stored.npz',
    'deflated.npz',
    'truncated.npy',
  ]) {
    await copyFile(path.join(FIX, f), path.join(dir, f));
  }
  run = await RunArtifacts.open(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await cleanupRuns();
});

// base = arange(15).reshape(5, 3) / 4 - 1 (exact in float16)
const base = Array.from({ length: 15 }, (_, i) => i / 4 - 1);

describe('.npy reader', () => {
  it.each(['f32', 'f16', 'f64', 'f32-big-endian'])('reads %s as the numbers numpy wrote', async (name) => {
    const a = await openNpy(run, `${name}.npy`);
    expect(a.shape).toEqual([5, 3]);
    expect(a.rows).toBe(5);
    expect(a.rowElements).toBe(3);
    const all = toFloat32(await a.readRows(0, 5), a.dtype);
    expect(Array.from(all)).toEqual(base);
    const mid = toFloat32(await a.readRows(2, 2), a.dtype);
    expect(Array.from(mid)).toEqual(base.slice(6, 12));
    await a.close();
  });

  it.each([
    ['i64', 'int64'],
    ['i32', 'int32'],
    ['u1', 'uint8'],
  ])('reads integer dtype %s', async (name, dtype) => {
    const a = await openNpy(run, `${name}.npy`);
    expect(a.dtype).toBe(dtype);
    const all = Array.from(toFloat32(await a.readRows(0, 5), a.dtype));
    expect(all).toEqual(base.map((v) => v * 4 + 4));
    await a.close();
  });

  it('transposes a Fortran-ordered array into C order', async () => {
    const f = await openNpy(run, 'fortran.npy');
    const c = await openNpy(run, 'c-order.npy');
    expect(f.transposed).toBe(true);
    expect(f.shape).toEqual([2, 3, 4]);
    expect(Array.from(toFloat32(await f.readRows(0, 2), f.dtype))).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(numbers(await f.readRows(1, 1))).toEqual(numbers(await c.readRows(1, 1)));
    await f.close();
    await c.close();
  });

  it('refuses a Fortran-ordered array too large to transpose, saying how to fix it', async () => {
    await expect(openNpy(run, 'fortran.npy', { maxTransposeBytes: 10 })).rejects.toThrow(
      /Fortran order.*np\.ascontiguousarray/,
    );
  });

  it('refuses a truncated file naming the declared shape', async () => {
    await expect(openNpy(run, 'truncated.npy')).rejects.toThrow(/truncated.*\[5, 3\] float32/);
  });

  it('refuses non-npy bytes and unsupported dtypes', async () => {
    await writeFile(path.join(dir, 'text.npy'), 'just some text, not numpy');
    await expect(openNpy(run, 'text.npy')).rejects.toThrow(/not a \.npy array/);
    await writeFile(
      path.join(dir, 'c16.npy'),
      encodeNpyHeaderOnly("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", 16),
    );
    await expect(openNpy(run, 'c16.npy')).rejects.toThrow(/dtype "<c16" is not supported/);
  });

  it('refuses a header whose shape claims more data than the file holds', async () => {
    await writeFile(
      path.join(dir, 'huge.npy'),
      encodeNpyHeaderOnly("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 3, 224, 224), }", 64),
    );
    await expect(openNpy(run, 'huge.npy')).rejects.toThrow(/truncated|impossibly large/);
  });

  it('stays inside the run: a symlink to an outside array is refused', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'outside-'));
    await copyFile(path.join(FIX, 'f32.npy'), path.join(outside, 'secret.npy'));
    await symlink(path.join(outside, 'secret.npy'), path.join(dir, 'link.npy'));
    await expect(openNpy(run, 'link.npy')).rejects.toMatchObject({ code: 'PATH_ESCAPE', hostile: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('round-trips encodeNpy', async () => {
    await writeFile(path.join(dir, 'enc.npy'), encodeNpy('float32', [2, 2], new Float32Array([1, 2, 3, 4])));
    const a = await openNpy(run, 'enc.npy');
    expect(numbers(await a.readRows(1, 1))).toEqual([3, 4]);
    await a.close();
  });
});

describe('.npz reader', () => {
  it('lists and reads a stored archive', async () => {
    expect((await listNpz(run, 'stored.npz')).sort()).toEqual(['inputs', 'labels']);
    const a = await openTestArray(run, 'stored.npz', 'inputs');
    expect(a.rel).toBe('stored.npz:inputs');
    expect(numbers(await a.readRows(0, 5))).toEqual(base);
    await a.close();
    expect(Array.from(await readAllLabels(run, 'stored.npz:labels'))).toEqual([0, 1, 2, 1, 0]);
  });

  it('streams a deflated archive in batches, forwards and backwards', async () => {
    const a = await openNpzEntry(run, 'deflated.npz', 'inputs');
    expect(a.shape).toEqual([4000, 16]);
    let sum = 0;
    for (let s = 0; s < a.rows; s += 300) {
      const rows = await a.readRows(s, Math.min(300, a.rows - s));
      for (const v of rows as Float32Array) sum += v;
    }
    expect(sum).toBe(3066976); // numpy: d['inputs'].sum()
    expect(numbers(await a.readRows(0, 1))).toEqual([82, 61, 49, 26, 29, 3, 7, 1, 17, 78, 62, 88, 48, 58, 94, 70]);
    expect(numbers(await a.readRows(3999, 1))).toEqual([
      62, 61, 53, 31, 70, 62, 65, 14, 83, 44, 27, 20, 70, 40, 69, 47,
    ]);
    await a.close();
    const labels = await readAllLabels(run, 'deflated.npz:labels', 4000);
    expect(labels[123]).toBe(3);
  });

  it('reads into a caller-provided buffer (batch buffers are recycled)', async () => {
    for (const open of [
      () => openNpy(run, 'f32.npy'),
      () => openNpzEntry(run, 'deflated.npz', 'inputs'),
      () => openNpy(run, 'fortran.npy'),
    ]) {
      const a = await open();
      const buf = new ArrayBuffer(4096);
      const rows = await a.readRows(1, 1, buf);
      expect(rows.buffer).toBe(buf);
      expect(numbers(rows)).toEqual(numbers(await a.readRows(1, 1)));
      const tooSmall = new ArrayBuffer(2);
      expect((await a.readRows(0, 1, tooSmall)).buffer).not.toBe(tooSmall);
      await a.close();
    }
  });

  it('names the entries when the wanted array is missing', async () => {
    await expect(openNpzEntry(run, 'stored.npz', 'logits')).rejects.toThrow(/no array "logits".*inputs\.npy/);
  });

  it('refuses a file that is not a zip', async () => {
    await expect(listNpz(run, 'f32.npy')).rejects.toThrow(/not a readable zip archive/);
  });
});

describe('.npz size checks (deflate bombs)', () => {
  it('refuses a small deflated .npz that expands to 1.75 GiB without inflating it', async () => {
    const entry = deflateBombEntry();
    const { compressed, size } = entry.raw;
    expect(size).toBe(128 + 448 * 1024 * 1024 * 4);
    const bomb = buildZip([entry]);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    await writeFile(path.join(dir, 'bomb.npz'), bomb);

    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    await expect(openTestArray(run, 'bomb.npz', 'inputs')).rejects.toThrow(
      expect.objectContaining({
        code: 'UNSAFE_ARTIFACT',
        hostile: true,
        message: expect.stringMatching(
          new RegExp(
            `bomb\\.npz:inputs: deflated entry declares ${size} bytes from ${compressed.length} compressed \\(ratio \\d+:1\\); the limit for an inflated test-set array is 1073741824 bytes: zip bomb refused without inflating it`,
          ),
        ),
      }),
    );
    expect(performance.now() - started).toBeLessThan(2000); // measured ≈ 5 ms: nothing is inflated
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);

    // It is a real bomb: under a higher cap the header inflates and the zeros stream.
    const a = await openNpzEntry(run, 'bomb.npz', 'inputs', { maxInflatedBytes: 2 * 1024 ** 3 });
    expect(a.shape).toEqual([448, 1024, 1024]);
    expect(Array.from((await a.readRows(0, 1)) as Float32Array).every((v) => v === 0)).toBe(true);
    await a.close();
  });

  it('export.parity on a run whose inputs.npz is the bomb: a security finding, quickly, the process unharmed', async () => {
    const runDir = await copyExampleRun();
    const labels = await readFile(path.join(runDir, 'data/test/labels.npy'));
    await rm(path.join(runDir, 'data/test/inputs.npy'));
    await rm(path.join(runDir, 'data/test/labels.npy'));
    await writeFile(
      path.join(runDir, 'data/test/inputs.npz'),
      buildZip([deflateBombEntry(), { name: 'labels.npy', data: labels }]),
    );
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const r = await runCheck(parityCheck, { run: await RunArtifacts.open(runDir), policy: DEFAULT_POLICY });
    expect(r.status).toBe('fail');
    expect(r.security).toBe(true);
    expect(r.evidence[0]).toMatch(
      /security finding: data\/test\/inputs\.npz:inputs: deflated entry declares 1879048320 bytes .*zip bomb refused without inflating it/,
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
  });

  it("the cap is the team policy's limits.max_testset_inflated_bytes: under a lower one export.parity refuses a plain deflated test set", async () => {
    const runDir = await copyExampleRun();
    const inputs = await readFile(path.join(runDir, 'data/test/inputs.npy'));
    const labels = await readFile(path.join(runDir, 'data/test/labels.npy'));
    await rm(path.join(runDir, 'data/test/inputs.npy'));
    await rm(path.join(runDir, 'data/test/labels.npy'));
    await writeFile(
      path.join(runDir, 'data/test/inputs.npz'),
      buildZip([
        { name: 'inputs.npy', data: inputs, deflate: true },
        { name: 'labels.npy', data: labels, deflate: true },
      ]),
    );
    const cap = inputs.length - 1;
    const { result } = await runOn(runDir, parityCheck, {
      policyLayer: { source: 'team policy', data: { limits: { max_testset_inflated_bytes: cap } } },
    });
    expect(result.status).toBe('fail');
    expect(result.security).toBe(true);
    expect(result.evidence[0]).toContain(
      `data/test/inputs.npz:inputs: deflated entry declares ${inputs.length} bytes from `,
    );
    expect(result.evidence[0]).toContain(`the limit for an inflated test-set array is ${cap} bytes`);
    // at the default cap the same archive is read
    const ok = await runOn(runDir, parityCheck);
    expect(ok.result.security).not.toBe(true);
    expect(ok.text).not.toContain('zip bomb');
  });

  it("refuses a member whose declared size differs from its header's shape × dtype", async () => {
    const data = Buffer.concat([
      Buffer.from(encodeNpy('float32', [2, 2], Float32Array.of(1, 2, 3, 4))),
      Buffer.alloc(24),
    ]);
    await writeFile(path.join(dir, 'padded.npz'), buildZip([{ name: 'inputs.npy', data, deflate: true }]));
    await expect(openNpzEntry(run, 'padded.npz', 'inputs')).rejects.toThrow(
      expect.objectContaining({
        hostile: true,
        message: expect.stringMatching(
          /padded\.npz:inputs holds 40 bytes of data where its header declares shape \[2, 2\] float32 \(16 bytes\): 24 bytes at byte 144 belong to no array/,
        ),
      }),
    );
    await writeFile(path.join(dir, 'padded.npy'), data);
    await expect(openNpy(run, 'padded.npy')).rejects.toThrow(
      expect.objectContaining({
        hostile: true,
        message: expect.stringMatching(/24 bytes at byte 144 belong to no array/),
      }),
    );
  });
});

describe('labels', () => {
  it('validates dtype and count, naming both shapes', async () => {
    const l = await openNpy(run, 'labels.npy');
    expect(() => validateLabels(l, 4, [4, 1, 8, 8])).toThrow(/\[5\].*\[4, 1, 8, 8\]/);
    expect(() => validateLabels(l, 5)).not.toThrow();
    await l.close();
    const f = await openNpy(run, 'labels-float.npy');
    expect(() => validateLabels(f)).toThrow(/float32; labels must be integer/);
    await f.close();
    await expect(readAllLabels(run, 'f32.npy')).rejects.toThrow(/labels must be integer/);
  });
});

describe('float16', () => {
  it('decodes special values', () => {
    expect(float16ToNumber(0x3c00)).toBe(1);
    expect(float16ToNumber(0xc000)).toBe(-2);
    expect(float16ToNumber(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(float16ToNumber(0x7e00))).toBe(true);
    expect(float16ToNumber(0x0001)).toBe(2 ** -24);
  });
});

function encodeNpyHeaderOnly(dict: string, dataBytes: number): Buffer {
  let header = dict;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.alloc(dataBytes)]);
}
