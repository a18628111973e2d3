import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { deflateSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEntryName, DEFAULT_ZIP_LIMITS, type ZipLimits, ZipReader } from '../../src/formats/zip.js';
import { REPO_ROOT } from '../helpers/runs.js';
import { type BuildEntry, buildZip } from './zip-builder.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zip-refusals-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Opens `bytes` as ckpt.pt (declaring `size` bytes, the real length unless told) and runs `fn`. */
async function withZip<T>(
  bytes: Buffer,
  fn: (z: ZipReader) => Promise<T>,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  size = bytes.length,
): Promise<T> {
  const file = path.join(dir, `z${Math.random().toString(36).slice(2)}.zip`);
  await writeFile(file, bytes);
  const h = await open(file, 'r');
  try {
    return await fn(await ZipReader.open(h, size, 'ckpt.pt', limits));
  } finally {
    await h.close();
  }
}
const opens = (bytes: Buffer, limits?: ZipLimits) => withZip(bytes, async (z) => z.entries.map((e) => e.name), limits);

const text = (s: string) => Buffer.from(s);
const hostile = (message: string | RegExp) =>
  expect.objectContaining({
    code: 'UNSAFE_ARTIFACT',
    hostile: true,
    file: 'ckpt.pt',
    message: typeof message === 'string' ? message : expect.stringMatching(message),
  });
const notZip = (why: string) =>
  expect.objectContaining({
    code: 'PARSE_ERROR',
    hostile: false,
    file: 'ckpt.pt',
    message: `ckpt.pt: not a readable zip archive (${why}); the file may be truncated or corrupt`,
  });

// One stored entry: local header 0..45, central directory 45..101, end record 101..123.
const one: BuildEntry = { name: 'a/data.pkl', data: text('hello') };
const EOCD = 101;
const CENTRAL = 45;
/** A copy of `buf` with `write` applied. */
const patched = (buf: Buffer, write: (b: Buffer) => void) => {
  const b = Buffer.from(buf);
  write(b);
  return b;
};

describe('checkEntryName', () => {
  it.each([
    ['', 'is empty'],
    ['a/\0b', 'contains a NUL byte'],
    ['a\\b', 'contains a backslash'],
    ['/a', 'is absolute'],
    ['C:/a', 'is absolute'],
    ['c:a', 'is absolute'],
    ['a/../b', 'contains ".." (zip-slip)'],
    ['..', 'contains ".." (zip-slip)'],
  ])('refuses %j: %s', (name, why) => {
    expect(() => checkEntryName(name, 'ckpt.pt')).toThrow(hostile(`ckpt.pt: zip entry "${name}" ${why}; refused`));
  });

  it.each(['a/b', 'a/..b/c', 'a/b..', 'ab:c', '1:/x', 'a/./b'])('accepts %j', (name) => {
    expect(() => checkEntryName(name, 'ckpt.pt')).not.toThrow();
  });
});

describe('zip reader: the end record', () => {
  it('refuses a file too short to be a zip', async () => {
    await expect(opens(Buffer.alloc(21))).rejects.toThrow(notZip('21 bytes is too short for a zip'));
  });

  it('reports a file without an end record', async () => {
    await expect(opens(Buffer.alloc(22))).rejects.toThrow(notZip('no end-of-central-directory record'));
    await expect(opens(Buffer.alloc(5000, 0x41))).rejects.toThrow(notZip('no end-of-central-directory record'));
  });

  it('an end record whose comment runs past the end of the file is a truncated file, not trailing data', async () => {
    const zip = buildZip([one], { comment: text('x'.repeat(30)) });
    await expect(opens(zip.subarray(0, zip.length - 10))).rejects.toThrow(notZip('no end-of-central-directory record'));
  });

  it('finds an end record with a long comment (beyond the first look at the tail)', async () => {
    await expect(opens(buildZip([one], { comment: text('c'.repeat(5000)) }))).resolves.toEqual(['a/data.pkl']);
    await expect(opens(buildZip([one], { comment: text('c'.repeat(65_535)) }))).resolves.toEqual(['a/data.pkl']);
  });

  it('names the trailing bytes and the end record they follow', async () => {
    await expect(opens(buildZip([one], { trailing: text('tail') }))).rejects.toThrow(
      hostile(
        'ckpt.pt: zip has 4 bytes of trailing data at byte 123, after the end record at byte 101 and its comment; refused',
      ),
    );
    // beyond the first look at the tail
    const far = buildZip([one], { comment: text('c'.repeat(300)), trailing: text('t'.repeat(200)) });
    await expect(opens(far)).rejects.toThrow(
      hostile(/^ckpt\.pt: zip has 200 bytes of trailing data at byte 423, after the end record at byte 101 and/),
    );
  });

  it('lists every directory signature hidden in the comment (four at most)', async () => {
    const comment = Buffer.alloc(60);
    for (const at of [0, 10, 20, 30, 40]) comment.writeUInt32LE(0x02014b50, at);
    await expect(opens(buildZip([one], { comment }))).rejects.toThrow(
      hostile(
        'ckpt.pt: zip has a central-directory signature at byte 123 after its end record at byte 101, in its comment ' +
          '(5 directory signatures there: central-directory signature at byte 123, central-directory signature at byte 133, ' +
          'central-directory signature at byte 143, central-directory signature at byte 153, …): ' +
          "PyTorch's zip reader (miniz) takes the last end-record signature in the file, whatever its comment length, so it would read a different archive than the one checked; refused",
      ),
    );
    const two = Buffer.alloc(20);
    two.writeUInt32LE(0x02014b50, 0);
    two.writeUInt32LE(0x07064b50, 8);
    await expect(opens(buildZip([one], { comment: two }))).rejects.toThrow(
      hostile(
        /after its end record at byte 101, in its comment \(2 directory signatures there: central-directory signature at byte 123, ZIP64 end-of-central-directory locator signature at byte 131\): PyTorch/,
      ),
    );
  });

  it('a single stray signature is named without a list', async () => {
    const comment = Buffer.alloc(8);
    comment.writeUInt32LE(0x06064b50, 2);
    await expect(opens(buildZip([one], { comment }))).rejects.toThrow(
      hostile(
        /^ckpt\.pt: zip has a ZIP64 end-of-central-directory signature at byte 125 after its end record at byte 101, in its comment: PyTorch/,
      ),
    );
  });

  it('refuses ZIP64 placeholders without a ZIP64 locator', async () => {
    const zip = buildZip([one]);
    for (const [off, write] of [
      [10, (b: Buffer) => b.writeUInt16LE(0xffff, EOCD + 10)],
      [12, (b: Buffer) => b.writeUInt32LE(0xffffffff, EOCD + 12)],
      [16, (b: Buffer) => b.writeUInt32LE(0xffffffff, EOCD + 16)],
    ] as const) {
      await expect(opens(patched(zip, write)), `field at +${off}`).rejects.toThrow(
        notZip('ZIP64 fields without a ZIP64 locator'),
      );
    }
  });

  it('refuses a multi-disk archive', async () => {
    const zip = buildZip([one]);
    for (const write of [
      (b: Buffer) => b.writeUInt16LE(1, EOCD + 4),
      (b: Buffer) => b.writeUInt16LE(1, EOCD + 6),
      (b: Buffer) => b.writeUInt16LE(2, EOCD + 8),
      (b: Buffer) => b.writeUInt16LE(1, CENTRAL + 34),
    ]) {
      await expect(opens(patched(zip, write))).rejects.toThrow(notZip('multi-disk archive'));
    }
    // 0xffff as the entry's start disk is the ZIP64 placeholder, not a second disk
    await expect(opens(patched(zip, (b) => b.writeUInt16LE(0xffff, CENTRAL + 34)))).resolves.toEqual(['a/data.pkl']);
  });
});

describe('zip reader: the central directory', () => {
  it('refuses more entries or a larger directory than the limits allow, exactly above them', async () => {
    const zip = buildZip([one, { name: 'a/b', data: text('b') }]);
    await expect(opens(zip, { ...DEFAULT_ZIP_LIMITS, maxEntries: 2 })).resolves.toHaveLength(2);
    await expect(opens(zip, { ...DEFAULT_ZIP_LIMITS, maxEntries: 1 })).rejects.toThrow(
      hostile('ckpt.pt: zip declares 2 entries; the limit is 1; refused'),
    );
    // two records: 56 + 49 bytes
    await expect(opens(zip, { ...DEFAULT_ZIP_LIMITS, maxCentralDirectoryBytes: 105 })).resolves.toHaveLength(2);
    await expect(opens(zip, { ...DEFAULT_ZIP_LIMITS, maxCentralDirectoryBytes: 104 })).rejects.toThrow(
      hostile('ckpt.pt: zip central directory is 105 bytes; the limit is 104; refused'),
    );
  });

  it('refuses a directory that runs past its end record', async () => {
    await expect(opens(patched(buildZip([one]), (b) => b.writeUInt32LE(57, EOCD + 12)))).rejects.toThrow(
      notZip('central directory (45+57) runs past its end record at 101'),
    );
  });

  it('names the gap between the directory and its end record', async () => {
    await expect(opens(patched(buildZip([one]), (b) => b.writeUInt32LE(55, EOCD + 12)))).rejects.toThrow(
      hostile(
        'ckpt.pt: zip has 1 unaccounted bytes at byte 100, between the central directory and its end record at byte 101 (prepended data or a hidden directory); refused',
      ),
    );
  });

  it('refuses a malformed central record', async () => {
    await expect(opens(patched(buildZip([one]), (b) => b.writeUInt32LE(0x04034b50, CENTRAL)))).rejects.toThrow(
      notZip('central directory entry 0 at byte 45 is malformed'),
    );
    // the end record declares two entries, the directory holds one
    await expect(
      opens(patched(buildZip([one]), (b) => b.writeUInt16LE(2, EOCD + 10) && b.writeUInt16LE(2, EOCD + 8))),
    ).rejects.toThrow(notZip('central directory entry 1 at byte 101 is malformed'));
    // a name length running past the directory
    await expect(opens(patched(buildZip([one]), (b) => b.writeUInt16LE(11, CENTRAL + 28)))).rejects.toThrow(
      notZip('central directory entry 0 at byte 45 runs past the directory'),
    );
    await expect(opens(patched(buildZip([one]), (b) => b.writeUInt16LE(1, CENTRAL + 32)))).rejects.toThrow(
      notZip('central directory entry 0 at byte 45 runs past the directory'),
    );
  });

  it('refuses a name that is not UTF-8', async () => {
    const zip = patched(buildZip([{ name: 'a/x', data: text('x') }]), (b) => {
      b[30 + 2] = 0xff; // local name
      b[34 + 46 + 2] = 0xff; // central name
    });
    await expect(opens(zip)).rejects.toThrow(
      hostile('ckpt.pt: zip entry 0 (central record at byte 34) has a name that is not valid UTF-8; refused'),
    );
  });

  it('refuses an exact duplicate name, naming it once', async () => {
    const zip = buildZip([one, { name: 'a/data.pkl', data: text('other') }]);
    await expect(opens(zip)).rejects.toThrow(
      hostile(
        'ckpt.pt: zip has two entries named "a/data.pkl" (the second at byte 146); which one a reader uses is ambiguous; refused',
      ),
    );
  });

  it('refuses ZIP64 sizes without a ZIP64 extra field', async () => {
    for (const at of [20, 24, 42]) {
      await expect(opens(patched(buildZip([one]), (b) => b.writeUInt32LE(0xffffffff, CENTRAL + at)))).rejects.toThrow(
        notZip('entry "a/data.pkl" uses ZIP64 sizes without a ZIP64 extra field'),
      );
    }
  });

  it('refuses an encrypted entry', async () => {
    const zip = buildZip([{ ...one, central: { flags: 0x1 } }]);
    await expect(opens(zip)).rejects.toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED_FORMAT',
        hostile: false,
        file: 'ckpt.pt',
        message: 'ckpt.pt: zip entry "a/data.pkl" is encrypted',
      }),
    );
  });

  it('the compression-ratio cap: at the floor and the ratio, not above', async () => {
    const mb = 1024 * 1024;
    const limits = { ...DEFAULT_ZIP_LIMITS, maxCompressionRatio: 2, ratioFloorBytes: mb };
    const zeros = new Uint8Array(mb);
    const compressed = deflateSync(zeros);
    const raw = (size: number, bytes: number) => ({
      compressed: Buffer.concat([compressed, Buffer.alloc(bytes - compressed.length)]),
      size,
      crc: crc32(zeros),
    });
    // exactly 2:1 at the floor is accepted
    await expect(opens(buildZip([{ name: 'a/z', data: zeros, raw: raw(mb, mb / 2) }]), limits)).resolves.toEqual([
      'a/z',
    ]);
    // just above 2:1
    await expect(opens(buildZip([{ name: 'a/z', data: zeros, raw: raw(mb, mb / 2 - 1) }]), limits)).rejects.toThrow(
      expect.objectContaining({
        code: 'UNSAFE_ARTIFACT',
        hostile: true,
        message: `ckpt.pt: zip entry "a/z" declares ${mb} bytes from ${mb / 2 - 1} compressed (ratio 2:1, limit 2:1): zip bomb refused`,
      }),
    );
    // below the floor any ratio is accepted
    const small = new Uint8Array(mb - 1);
    const tiny = deflateSync(small);
    await expect(
      opens(
        buildZip([{ name: 'a/z', data: small, raw: { compressed: tiny, size: mb - 1, crc: crc32(small) } }]),
        limits,
      ),
    ).resolves.toEqual(['a/z']);
    // nothing compressed at all
    await expect(
      opens(buildZip([{ name: 'a/z', data: zeros, raw: { compressed: new Uint8Array(0), size: mb, crc: 0 } }]), limits),
    ).rejects.toThrow(
      hostile(/declares 1048576 bytes from 0 compressed \(ratio infinite, limit 2:1\): zip bomb refused$/),
    );
  });

  it('refuses entries declaring more than the total uncompressed limit, exactly above it', async () => {
    const zip = buildZip([one, { name: 'a/b', data: text('bb') }]);
    await expect(opens(zip, { ...DEFAULT_ZIP_LIMITS, maxTotalUncompressedBytes: 7 })).resolves.toHaveLength(2);
    await expect(opens(zip, { ...DEFAULT_ZIP_LIMITS, maxTotalUncompressedBytes: 6 })).rejects.toThrow(
      expect.objectContaining({
        code: 'UNSAFE_ARTIFACT',
        hostile: true,
        message:
          'ckpt.pt: zip entries declare more than 6 bytes uncompressed in total (limit limits.max_checkpoint_uncompressed_bytes): zip bomb refused',
      }),
    );
  });
});

describe('zip reader: local headers', () => {
  const mismatch = (name: string, at: number, what: string) =>
    hostile(
      `ckpt.pt: zip entry "${name}" (local header at byte ${at}): local header and central directory disagree about the ${what}; refused`,
    );

  it('refuses a central record pointing where no local header is', async () => {
    const two = [one, { name: 'a/b', data: text('b') }];
    // the second entry's offset moved one byte on: the layout check names the gap first
    await expect(opens(buildZip(two, {}).fill(0x41, 45, 49))).rejects.toThrow(
      mismatch('a/b', 45, 'entry position (no local header there)'),
    );
  });

  it('refuses a local header with no room before the central directory', async () => {
    // the second entry's local header and data cut out: its central record points at the directory itself
    const whole = buildZip([
      { name: 'a', data: text('x') },
      { name: 'b', data: text('y') },
    ]);
    const zip = Buffer.concat([whole.subarray(0, 32), whole.subarray(64)]);
    zip.writeUInt32LE(32, zip.length - 22 + 16);
    await expect(opens(zip)).rejects.toThrow(
      mismatch('b', 32, 'entry position (no room for a local header before the central directory)'),
    );
  });

  it('refuses a local header whose name runs into the central directory', async () => {
    const zip = patched(buildZip([one]), (b) => b.writeUInt16LE(20, 26));
    await expect(opens(zip)).rejects.toThrow(
      mismatch('a/data.pkl', 0, 'entry position (its header runs into the central directory)'),
    );
  });

  it('refuses a local name that differs from the central one', async () => {
    const zip = buildZip([{ ...one, central: { name: 'a/data.pkX' } }]);
    await expect(opens(zip)).rejects.toThrow(mismatch('a/data.pkX', 0, 'name ("a/data.pkl" vs "a/data.pkX")'));
  });

  it('refuses entry data running into the central directory', async () => {
    const zip = patched(buildZip([one]), (b) => {
      b.writeUInt32LE(6, 18);
      b.writeUInt32LE(6, 22);
      b.writeUInt32LE(6, CENTRAL + 20);
      b.writeUInt32LE(6, CENTRAL + 24);
    });
    await expect(opens(zip)).rejects.toThrow(
      hostile(
        'ckpt.pt: zip entry "a/data.pkl" data (from byte 40) runs into the central directory at byte 45; refused',
      ),
    );
  });

  it('names both sides of a size or flag disagreement', async () => {
    await expect(opens(patched(buildZip([one]), (b) => b.writeUInt32LE(4, 22)))).rejects.toThrow(
      mismatch('a/data.pkl', 0, 'sizes (5/4 vs 5/5)'),
    );
    await expect(opens(patched(buildZip([one]), (b) => b.writeUInt32LE(4, 18)))).rejects.toThrow(
      mismatch('a/data.pkl', 0, 'sizes (4/5 vs 5/5)'),
    );
    await expect(opens(buildZip([{ ...one, central: { flags: 0x800 } }]))).rejects.toThrow(
      mismatch('a/data.pkl', 0, 'flags (0x0 vs 0x800)'),
    );
    await expect(opens(buildZip([{ ...one, central: { crc: 1 } }]))).rejects.toThrow(
      mismatch('a/data.pkl', 0, 'CRC-32'),
    );
  });

  it('a data descriptor flag with sizes in the local header still needs them to agree', async () => {
    const zip = buildZip([{ ...one, descriptor: { signature: true } }]);
    // local header 0..45, descriptor 45..61
    const withLocal = patched(zip, (b) => {
      b.writeUInt32LE(crc32(text('hello')), 14);
      b.writeUInt32LE(5, 18);
      b.writeUInt32LE(4, 22);
    });
    await expect(opens(withLocal)).rejects.toThrow(mismatch('a/data.pkl', 0, 'sizes (5/4 vs 5/5)'));
    for (const [at, value] of [
      [14, crc32(text('hello'))],
      [18, 5],
      [22, 5],
    ] as const) {
      const partial = patched(zip, (b) => b.writeUInt32LE(value, at));
      await expect(opens(partial), `local field at ${at}`).rejects.toThrow(
        mismatch('a/data.pkl', 0, at === 14 ? 'sizes (0/0 vs 5/5)' : `sizes (${at === 18 ? '5/0' : '0/5'} vs 5/5)`),
      );
    }
  });

  it('refuses a data descriptor that is missing or lies about the sizes', async () => {
    const zip = buildZip([{ ...one, descriptor: { signature: true } }]);
    // cut the descriptor to 8 bytes by declaring the directory 8 bytes earlier
    const short = Buffer.concat([zip.subarray(0, 53), zip.subarray(61)]);
    short.writeUInt32LE(53, short.length - 22 + 16);
    await expect(opens(short)).rejects.toThrow(mismatch('a/data.pkl', 0, 'data descriptor (missing at byte 45)'));
    for (const at of [53, 57]) {
      await expect(opens(patched(zip, (b) => b.writeUInt32LE(6, at)))).rejects.toThrow(
        mismatch('a/data.pkl', 0, 'data descriptor at byte 45 (CRC or sizes)'),
      );
    }
  });

  it('reads a ZIP64 data descriptor (8-byte sizes) after a local ZIP64 extra field', async () => {
    const real = await readFile(path.join(REPO_ROOT, 'test/fixtures/checkpoints/normal.pt'));
    await withZip(real, async (z) => {
      for (const e of z.entries) expect((await z.readEntry(e, 1e9)).length).toBe(e.uncompressedSize);
    });
  });
});

describe('zip reader: reading entries', () => {
  it('refuses an entry over the byte limit before reading it, exactly above it', async () => {
    await withZip(buildZip([one]), async (z) => {
      const e = z.get('a/data.pkl')!;
      const before = z.bytesRead;
      await expect(z.readEntry(e, 4)).rejects.toThrow(
        expect.objectContaining({
          code: 'TOO_LARGE',
          file: 'ckpt.pt',
          message: 'ckpt.pt: zip entry "a/data.pkl" is 5 bytes; the limit is 4',
        }),
      );
      expect(z.bytesRead).toBe(before);
      expect((await z.readEntry(e, 5)).toString()).toBe('hello');
      expect(z.bytesRead).toBe(before + 5);
    });
  });

  it('refuses a compression method other than stored and deflate', async () => {
    const zip = patched(buildZip([one]), (b) => {
      b.writeUInt16LE(12, 8);
      b.writeUInt16LE(12, CENTRAL + 10);
    });
    await withZip(zip, async (z) => {
      await expect(z.readEntry(z.get('a/data.pkl')!, 100)).rejects.toThrow(
        expect.objectContaining({
          code: 'UNSUPPORTED_FORMAT',
          file: 'ckpt.pt',
          message: 'ckpt.pt: zip entry "a/data.pkl" uses compression method 12; only stored and deflate are read',
        }),
      );
    });
  });

  it('refuses content whose CRC both headers agree on but the data does not match', async () => {
    const zip = buildZip([
      { ...one, raw: { compressed: deflateSync(text('hellp')), size: 5, crc: crc32(text('hello')) } },
    ]);
    await withZip(zip, async (z) => {
      await expect(z.readEntry(z.get('a/data.pkl')!, 100)).rejects.toThrow(
        hostile(
          'ckpt.pt: zip entry "a/data.pkl" fails its CRC-32 check (content differs from what the directory declares); refused',
        ),
      );
    });
    const stored = patched(buildZip([one]), (b) => b.write('j', 40));
    await withZip(stored, async (z) => {
      await expect(z.readEntry(z.get('a/data.pkl')!, 100)).rejects.toThrow(/fails its CRC-32 check/);
    });
  });

  it('refuses deflate data that is not deflate, or inflates to less than declared', async () => {
    const garbage = buildZip([{ ...one, raw: { compressed: Buffer.from([0xff, 0xff, 0xff, 0xff]), size: 5, crc: 0 } }]);
    await withZip(garbage, async (z) => {
      await expect(z.readEntry(z.get('a/data.pkl')!, 100)).rejects.toThrow(
        expect.objectContaining({
          code: 'PARSE_ERROR',
          file: 'ckpt.pt',
          message: 'ckpt.pt: zip entry "a/data.pkl" is not valid deflate data',
        }),
      );
    });
    const short = buildZip([
      { ...one, raw: { compressed: deflateSync(text('hell')), size: 5, crc: crc32(text('hell')) } },
    ]);
    await withZip(short, async (z) => {
      await expect(z.readEntry(z.get('a/data.pkl')!, 100)).rejects.toThrow(
        hostile('ckpt.pt: zip entry "a/data.pkl" declares 5 bytes but inflates to 4; refused'),
      );
    });
  });

  it('inflates an entry larger than one 64 KiB step', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
    await withZip(buildZip([{ name: 'a/big', data, deflate: true }]), async (z) => {
      expect((await z.readEntry(z.get('a/big')!, 1e6)).equals(data)).toBe(true);
    });
  });

  it('streams a range of a stored entry in chunks, reading only that range', async () => {
    const data = text('0123456789abcdef');
    await withZip(buildZip([{ name: 'a/s', data }]), async (z) => {
      const e = z.get('a/s')!;
      const before = z.bytesRead;
      const parts: string[] = [];
      for await (const c of z.streamRange(e, 2, 13, 4)) parts.push(c.toString());
      expect(parts).toEqual(['2345', '6789', 'abc']);
      expect(z.bytesRead).toBe(before + 11);
      const all: string[] = [];
      for await (const c of z.streamRange(e, 0, 16)) all.push(c.toString());
      expect(all).toEqual(['0123456789abcdef']);
      const none: Buffer[] = [];
      for await (const c of z.streamRange(e, 5, 5)) none.push(c);
      expect(none).toEqual([]);
    });
  });

  it('streams a range of a deflated entry by reading it whole, within a cap', async () => {
    const data = text('0123456789abcdef'.repeat(8));
    await withZip(buildZip([{ name: 'a/d', data, deflate: true }]), async (z) => {
      const e = z.get('a/d')!;
      const parts: string[] = [];
      for await (const c of z.streamRange(e, 3, 9, 2)) parts.push(c.toString());
      expect(parts).toEqual(['345678']);
      const over = async () => {
        for await (const _ of z.streamRange(e, 0, 1, 1, 127)) void _;
      };
      await expect(over()).rejects.toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
      const exact: string[] = [];
      for await (const c of z.streamRange(e, 0, 1, 1, 128)) exact.push(c.toString());
      expect(exact).toEqual(['0']);
    });
  });

  it('refuses a range outside the entry', async () => {
    await withZip(buildZip([one]), async (z) => {
      const e = z.get('a/data.pkl')!;
      for (const [from, to] of [
        [-1, 2],
        [0, 6],
        [3, 2],
      ] as const) {
        const take = async () => {
          for await (const _ of z.streamRange(e, from, to)) void _;
        };
        await expect(take()).rejects.toThrow(
          expect.objectContaining({
            code: 'PARSE_ERROR',
            file: 'ckpt.pt',
            message: `ckpt.pt: bytes ${from}..${to} are outside zip entry "a/data.pkl" (5 bytes)`,
          }),
        );
      }
    });
  });

  it('refuses an entry that is not one of its own', async () => {
    await withZip(buildZip([one]), async (z) => {
      const foreign = { ...z.get('a/data.pkl')! };
      await expect(z.dataStart(foreign)).rejects.toThrow(
        expect.objectContaining({
          code: 'INTERNAL',
          file: 'ckpt.pt',
          message: 'ckpt.pt: "a/data.pkl" is not an entry of this archive',
        }),
      );
      await expect(z.dataStart(z.get('a/data.pkl')!)).resolves.toEqual({ start: 40 });
      expect(z.get('a/nothing')).toBeUndefined();
      expect(z.size).toBe(123);
      expect(z.file).toBe('ckpt.pt');
    });
  });

  it('a file shorter than it was said to be is truncated', async () => {
    const zip = buildZip([one]);
    // told the file is 10 bytes longer than it is: the end record is looked for past its end
    await expect(withZip(zip, async () => 0, DEFAULT_ZIP_LIMITS, zip.length + 10)).rejects.toThrow(
      expect.objectContaining({ code: 'PARSE_ERROR', file: 'ckpt.pt', message: 'ckpt.pt: zip archive is truncated' }),
    );
  });

  it('reads only the end records, the directory and the local headers on open', async () => {
    const data = Buffer.alloc(100_000, 1);
    await withZip(buildZip([{ name: 'a/big', data }]), async (z) => {
      expect(z.bytesRead).toBeLessThan(400);
      expect(z.bytesRead).toBeGreaterThan(22 + 46);
    });
  });
});
