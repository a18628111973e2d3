import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ZIP_LIMITS, ZipReader } from '../../src/formats/zip.js';
import { type BuildOptions, buildZip, endRecord } from '../formats/zip-builder.js';
import { REPO_ROOT } from '../helpers/runs.js';

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
      await expect(withZip(buildZip([{ name, data: text('x') }]), async () => 0)).rejects.toThrow(
        expect.objectContaining({ hostile: true, message: expect.stringMatching(why) }),
      );
    });
  }

  it('refuses names that differ only in case (confusing directory)', async () => {
    const zip = buildZip([
      { name: 'a/data.pkl', data: text('1') },
      { name: 'a/DATA.pkl', data: text('2') },
    ]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/two entries named "a\/data\.pkl" and "a\/DATA\.pkl"/);
  });

  it('refuses a stored entry whose declared size differs from its data', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('hello'), central: { usize: 50 } }]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/declares 50 bytes but holds 5/);
  });

  it('refuses a deflated entry that inflates to more than both headers declare, without inflating it all', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('y'.repeat(5000)), deflate: true, declared: 100 }]);
    await expect(withZip(zip, (z) => z.readEntry(z.get('a/data.pkl')!, 1e6))).rejects.toThrow(
      /declares 100 bytes but inflates to more than 100/,
    );
  });

  it('refuses local and central headers that disagree about sizes', async () => {
    const zip = buildZip([
      { name: 'a/data.pkl', data: text('y'.repeat(5000)), deflate: true, central: { usize: 100 } },
    ]);
    await expect(withZip(zip, (z) => z.readEntry(z.get('a/data.pkl')!, 1e6))).rejects.toThrow(
      /local header and central directory disagree about the sizes/,
    );
  });

  it('refuses an entry whose CRC does not match its content', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('hello'), central: { crc: 1234 } }]);
    await expect(withZip(zip, (z) => z.readEntry(z.get('a/data.pkl')!, 100))).rejects.toThrow(/CRC-32/);
  });

  it('refuses overlapping entries (quoted-entry bombs)', async () => {
    const zip = buildZip([
      { name: 'a/x', data: text('a'.repeat(100)) },
      { name: 'a/y', data: text('b'), central: { offset: 0 } },
    ]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/overlaps/);
  });

  it('refuses a compression ratio over the cap before inflating anything', async () => {
    const zip = buildZip([{ name: 'a/data/0', data: new Uint8Array(4 * 1024 * 1024), deflate: true }]);
    await expect(withZip(zip, async () => 0)).rejects.toThrow(/ratio \d+:1, limit 100:1\): zip bomb refused/);
    await expect(
      withZip(zip, async (z) => z.entries.length, { ...DEFAULT_ZIP_LIMITS, maxCompressionRatio: 10_000 }),
    ).resolves.toBe(1);
  });

  it('reports a file without an end record as truncated', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('hello') }]);
    await expect(withZip(zip.subarray(0, zip.length - 10), async () => 0)).rejects.toThrow(
      expect.objectContaining({ code: 'PARSE_ERROR', hostile: false }),
    );
  });
});

const hostileAt = (re: RegExp) =>
  expect.objectContaining({ code: 'UNSAFE_ARTIFACT', hostile: true, message: expect.stringMatching(re) });
const two = [
  { name: 'a/data.pkl', data: text('hello') },
  { name: 'a/version', data: text('3\n') },
];
const open2 = (opts: BuildOptions) => withZip(buildZip(two, opts), async (z) => z.entries.map((e) => e.name));

describe('zip reader: one way to read an archive', () => {
  it('accepts a plain archive, with or without a harmless comment', async () => {
    await expect(open2({})).resolves.toEqual(['a/data.pkl', 'a/version']);
    await expect(open2({ comment: text('made by a test') })).resolves.toHaveLength(2);
  });

  it('refuses a second end record hidden in the comment, naming both offsets', async () => {
    const plain = buildZip(two);
    // The hidden record claims a 1-byte comment, so only a reader that ignores comment lengths takes it.
    const comment = endRecord(1, 46, 0, 1);
    const eocdAt = plain.length - 22;
    await expect(open2({ comment })).rejects.toThrow(
      hostileAt(
        new RegExp(
          `second end record \\(end-of-central-directory signature at byte ${eocdAt + 22}\\) after its end record at byte ${eocdAt}.*miniz`,
        ),
      ),
    );
  });

  for (const [what, sig] of [
    ['central-directory', 0x02014b50],
    ['ZIP64 end-of-central-directory', 0x06064b50],
    ['ZIP64 end-of-central-directory locator', 0x07064b50],
  ] as const) {
    it(`refuses a ${what} signature in the comment`, async () => {
      const comment = Buffer.alloc(40);
      comment.writeUInt32LE(sig, 10);
      await expect(open2({ comment })).rejects.toThrow(
        hostileAt(new RegExp(`a ${what} signature at byte \\d+ after its end record`)),
      );
    });
  }

  it('refuses trailing data after the end record, naming its offset', async () => {
    const size = buildZip(two).length;
    await expect(open2({ trailing: text('#!/bin/sh\necho hi\n') })).rejects.toThrow(
      hostileAt(new RegExp(`18 bytes of trailing data at byte ${size}`)),
    );
  });

  it('refuses prepended data, whether or not the offsets count it', async () => {
    await expect(open2({ prepend: text('#!/bin/sh\nexit 0\n'), absolute: true })).rejects.toThrow(
      hostileAt(/17 bytes of prepended data before its first entry "a\/data\.pkl" at byte 17/),
    );
    await expect(open2({ prepend: text('#!/bin/sh\nexit 0\n') })).rejects.toThrow(
      hostileAt(/17 unaccounted bytes at byte \d+, between the central directory and its end record/),
    );
  });

  it('refuses unaccounted bytes between entries (where a second directory could hide)', async () => {
    await expect(open2({ gapAfter: { entries: 1, bytes: text('hidden') } })).rejects.toThrow(
      hostileAt(/6 unaccounted bytes at byte 45, between entries "a\/data\.pkl" and "a\/version"/),
    );
    await expect(open2({ gapAfter: { entries: 2, bytes: text('hidden') } })).rejects.toThrow(
      hostileAt(/6 unaccounted bytes at byte \d+, after its last entry "a\/version" and before the central directory/),
    );
  });

  it('refuses central-directory bytes beyond the declared entries', async () => {
    await expect(open2({ centralExtra: Buffer.alloc(46) })).rejects.toThrow(
      hostileAt(/holds 46 bytes at byte \d+ beyond its 2 declared entries/),
    );
  });

  it('refuses local headers that disagree with the directory about flags or method', async () => {
    const flags = buildZip([{ ...two[0]!, central: { flags: 0x800 } }, two[1]!]);
    await expect(withZip(flags, async () => 0)).rejects.toThrow(
      hostileAt(
        /"a\/data\.pkl" \(local header at byte 0\): local header and central directory disagree about the flags/,
      ),
    );
    const method = buildZip([two[0]!, { ...two[1]!, central: { method: 8 } }]);
    await expect(withZip(method, async () => 0)).rejects.toThrow(
      hostileAt(/"a\/version" \(local header at byte 45\).*compression method \(0 vs 8\)/),
    );
  });

  it('reads entries whose sizes are in a data descriptor (with or without its signature), and checks it', async () => {
    for (const signature of [true, false]) {
      const zip = buildZip([
        { ...two[0]!, descriptor: { signature } },
        { name: 'a/z', data: text('x'.repeat(1000)), deflate: true, descriptor: { signature } },
      ]);
      await withZip(zip, async (z) => {
        expect((await z.readEntry(z.get('a/data.pkl')!, 100)).toString()).toBe('hello');
        expect((await z.readEntry(z.get('a/z')!, 2000)).toString()).toBe('x'.repeat(1000));
      });
    }
    const lying = buildZip([{ ...two[0]!, descriptor: { signature: true, crc: 1234 } }]);
    await expect(withZip(lying, async () => 0)).rejects.toThrow(
      hostileAt(/"a\/data\.pkl" \(local header at byte 0\).*data descriptor at byte 45 \(CRC or sizes\)/),
    );
  });

  it("reads torch's ZIP64 end records and refuses bytes slipped between the ZIP64 end record and its locator", async () => {
    const real = await readFile(path.join(REPO_ROOT, 'test/fixtures/checkpoints/normal.pt'));
    await expect(withZip(real, async (z) => z.entries.length)).resolves.toBe(11);
    const loc = real.length - 22 - 20;
    expect(real.readUInt32LE(loc)).toBe(0x07064b50);
    const slipped = Buffer.concat([real.subarray(0, loc), text('XXXX'), real.subarray(loc)]);
    await expect(withZip(slipped, async () => 0)).rejects.toThrow(
      hostileAt(
        new RegExp(
          `ZIP64 end record at byte ${loc - 56} \\(declared 56 bytes\\) does not end where its locator starts \\(byte ${loc + 4}\\)`,
        ),
      ),
    );
  });

  it('refuses the EOCD parser-differential fixture, whose hidden end record points at another directory', async () => {
    const bytes = await readFile(path.join(REPO_ROOT, 'test/fixtures/checkpoints/eocd_differential.pt'));
    // What miniz sees: the last end-record signature (the hidden one, 22 bytes from the end) ...
    const hidden = bytes.length - 22;
    expect(bytes.readUInt32LE(hidden)).toBe(0x06054b50);
    // ... and what a reader that checks the comment length sees: the record whose comment reaches the end.
    const real = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]), hidden - 1);
    expect(real + 22 + bytes.readUInt16LE(real + 20)).toBe(bytes.length);
    expect(bytes.readUInt32LE(hidden + 16)).not.toBe(bytes.readUInt32LE(real + 16)); // two different central directories
    await expect(withZip(bytes, async () => 0)).rejects.toThrow(
      hostileAt(
        new RegExp(
          `second end record \\(end-of-central-directory signature at byte ${hidden}\\) after its end record at byte ${real}`,
        ),
      ),
    );
  });
});
