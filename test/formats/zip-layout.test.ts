import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipReader } from '../../src/formats/zip.js';
import { buildZip } from './zip-builder.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zip-layout-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withZip<T>(bytes: Buffer, fn: (z: ZipReader) => Promise<T>): Promise<T> {
  const file = path.join(dir, `z${Math.random().toString(36).slice(2)}.zip`);
  await writeFile(file, bytes);
  const h = await open(file, 'r');
  try {
    return await fn(await ZipReader.open(h, bytes.length, 'ckpt.pt'));
  } finally {
    await h.close();
  }
}
const names = (bytes: Buffer) => withZip(bytes, async (z) => z.entries.map((e) => e.name));
const text = (s: string) => Buffer.from(s);

describe('zip reader: layout edge cases', () => {
  it('opens an empty archive (an end record and nothing else)', async () => {
    const empty = buildZip([]);
    expect(empty).toHaveLength(22);
    await expect(names(empty)).resolves.toEqual([]);
  });

  it('refuses trailing data after an empty archive', async () => {
    await expect(names(buildZip([], { trailing: text('xx') }))).rejects.toThrow(
      expect.objectContaining({
        hostile: true,
        message:
          'ckpt.pt: zip has 2 bytes of trailing data at byte 22, after the end record at byte 0 and its comment; refused',
      }),
    );
  });

  it('finds a directory signature in the last four bytes of the comment', async () => {
    const comment = Buffer.alloc(8);
    comment.writeUInt32LE(0x02014b50, 4);
    await expect(names(buildZip([{ name: 'a', data: text('x') }], { comment }))).rejects.toThrow(
      /a central-directory signature at byte \d+ after its end record/,
    );
  });

  it('lists exactly four stray signatures without an ellipsis', async () => {
    const comment = Buffer.alloc(40);
    for (const at of [0, 10, 20, 30]) comment.writeUInt32LE(0x02014b50, at);
    const err = await names(buildZip([{ name: 'a', data: text('x') }], { comment })).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/\(4 directory signatures there: [^)]*signature at byte \d+\): PyTorch/);
    expect((err as Error).message).not.toContain('…');
  });

  it('reads the local headers of more than one batch (64) in file order', async () => {
    const entries = Array.from({ length: 130 }, (_, i) => ({ name: `a/${i}`, data: text(`entry ${i}`) }));
    await withZip(buildZip(entries), async (z) => {
      expect(z.entries).toHaveLength(130);
      for (const i of [0, 63, 64, 65, 127, 128, 129]) {
        expect((await z.readEntry(z.get(`a/${i}`)!, 100)).toString()).toBe(`entry ${i}`);
      }
    });
  });

  it('a local header with all-zero sizes and CRC but no data-descriptor flag disagrees with the directory', async () => {
    const zip = buildZip([{ name: 'a/data.pkl', data: text('hello') }]);
    zip.fill(0, 14, 26);
    await expect(names(zip)).rejects.toThrow(
      expect.objectContaining({
        hostile: true,
        message:
          'ckpt.pt: zip entry "a/data.pkl" (local header at byte 0): local header and central directory disagree about the sizes (0/0 vs 5/5); refused',
      }),
    );
  });

  it('a local header filling exactly the room before the directory is read (its name then disagrees)', async () => {
    // entry "a" with no data: local header 0..30, its name at 30, the directory at 31
    const whole = buildZip([{ name: 'a', data: Buffer.alloc(0) }]);
    const zip = Buffer.concat([whole.subarray(0, 30), whole.subarray(31)]);
    zip.writeUInt16LE(0, 26); // local name length 0
    zip.writeUInt32LE(30, zip.length - 22 + 16); // the directory now starts at 30
    await expect(names(zip)).rejects.toThrow(
      expect.objectContaining({
        message:
          'ckpt.pt: zip entry "a" (local header at byte 0): local header and central directory disagree about the name ("" vs "a"); refused',
      }),
    );
  });

  it('inflates incompressible data larger than one 64 KiB step', async () => {
    const data = randomBytes(200_000);
    await withZip(buildZip([{ name: 'a/r', data, deflate: true }]), async (z) => {
      const e = z.get('a/r')!;
      expect(e.compressedSize).toBeGreaterThan(3 * 64 * 1024);
      expect((await z.readEntry(e, 1e6)).equals(data)).toBe(true);
      expect(e.crc32).toBe(crc32(data));
    });
  });

  it('streams a range of a deflated entry with the default cap (512 MiB)', async () => {
    const data = randomBytes(5000);
    await withZip(buildZip([{ name: 'a/d', data, deflate: true }]), async (z) => {
      const parts: Buffer[] = [];
      for await (const c of z.streamRange(z.get('a/d')!, 1000, 4000)) parts.push(c);
      expect(Buffer.concat(parts).equals(data.subarray(1000, 4000))).toBe(true);
    });
  });
});
