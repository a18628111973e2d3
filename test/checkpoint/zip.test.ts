import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { DEFAULT_ZIP_LIMITS, ZipReader } from '../../src/formats/zip.js';

interface Entry {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Overrides written into the central directory only. */
  central?: { name?: string; usize?: number; crc?: number; offset?: number };
  /** A declared uncompressed size written in both headers (a consistent lie). */
  declared?: number;
}

/** A minimal zip writer (no data descriptors) whose central directory can be made to lie. */
function buildZip(entries: Entry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = Buffer.from(e.deflate ? deflateSync(e.data) : e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.declared ?? e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const cname = Buffer.from(e.central?.name ?? e.name, 'utf8');
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(e.deflate ? 8 : 0, 10);
    c.writeUInt32LE(e.central?.crc ?? crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(e.central?.usize ?? e.declared ?? e.data.length, 24);
    c.writeUInt16LE(cname.length, 28);
    c.writeUInt32LE(e.central?.offset ?? offset, 42);
    centrals.push(c, cname);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zip-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withZip<T>(bytes: Buffer, fn: (z: ZipReader) => Promise<T>, limits = DEFAULT_ZIP_LIMITS): Promise<T> {
  const file = path.join(dir, `z${Math.random().toString(36).slice(2)}.zip`);
  await writeFile(file, bytes);
  const h = await open(file, 'r');
  try {
    return await fn(await ZipReader.open(h, bytes.length, 'ckpt.pt', limits));
  } finally {
    await h.close();
  }
}

const text = (s: string) => Buffer.from(s);

describe('zip reader', () => {
  it('reads stored and deflated entries and ranges of a stored entry', async () => {
    const zip = buildZip([
      { name: 'a/data.pkl', data: text('hello') },
      { name: 'a/data/0', data: text('0123456789') },
      { name: 'a/z', data: text('x'.repeat(1000)), deflate: true },
    ]);
    await withZip(zip, async (z) => {
      expect((await z.readEntry(z.get('a/data.pkl')!, 100)).toString()).toBe('hello');
      expect((await z.readEntry(z.get('a/z')!, 2000)).toString()).toBe('x'.repeat(1000));
      const parts: Buffer[] = [];
      for await (const c of z.streamRange(z.get('a/data/0')!, 3, 7)) parts.push(c);
      expect(Buffer.concat(parts).toString()).toBe('3456');
    });
  });

  for (const [name, why] of [
    ['a/../../etc/passwd', /contains "\.\."/],
    ['/etc/passwd', /is absolute/],
    ['a\\..\\x', /backslash/],
    ['a/\0x', /NUL/],
  ] as const) {
    it(`refuses the entry name ${JSON.stringify(name)}`, async () => {
      await expect(withZip(buildZip([{ name, data: text('x') }]), async () => 0)).rejects.toThrow(expect.objectContaining({ hostile: true, message: expect.stringMatching(why) }));
    });
  }

  it('refuses names that differ only in case (confusing directory)', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('1') }, { name: 'a/DATA.pkl', data: text('2') }]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/two entries named "a\/data\.pkl" and "a\/DATA\.pkl"/);
  });

  it('refuses a stored entry whose declared size differs from its data', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('hello'), central: { usize: 50 } }]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/declares 50 bytes but holds 5/);
  });

  it('refuses a deflated entry that inflates to more than both headers declare, without inflating it all', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('y'.repeat(5000)), deflate: true, declared: 100 }]);
    await expect(withZip(zip, (z) => z.readEntry(z.get('a/data.pkl')!, 1e6))).rejects.toThrow(/declares 100 bytes but inflates to more than 100/);
  });

  it('refuses local and central headers that disagree about sizes', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('y'.repeat(5000)), deflate: true, central: { usize: 100 } }]);
    await expect(withZip(zip, (z) => z.readEntry(z.get('a/data.pkl')!, 1e6))).rejects.toThrow(/local header and central directory disagree about the sizes/);
  });

  it('refuses an entry whose CRC does not match its content', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('hello'), central: { crc: 1234 } }]);
    await expect(withZip(zip, (z) => z.readEntry(z.get('a/data.pkl')!, 100))).rejects.toThrow(/CRC-32/);
  });

  it('refuses overlapping entries (quoted-entry bombs)', async () => {
    const zip = buildZip([{ name: 'a/x', data: text('a'.repeat(100)) }, { name: 'a/y', data: text('b'), central: { offset: 0 } }]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/overlaps/);
  });

  it('refuses a compression ratio over the cap before inflating anything', async () => {
    const zip = buildZip([{ name: 'a/data/0', data: new Uint8Array(4 * 1024 * 1024), deflate: true }]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/ratio \d+:1, limit 100:1\): zip bomb refused/);
    await expect(withZip(zip, async (z) => z.entries.length, { ...DEFAULT_ZIP_LIMITS, maxCompressionRatio: 10_000 })).resolves.toBe(1);
  });

  it('reports a file without an end record as truncated', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('hello') }]);
    await expect(withZip(zip.subarray(0, zip.length - 10), async () => 0)).rejects.toThrow(expect.objectContaining({ code: 'PARSE_ERROR', hostile: false }));
  });
});
