import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipReader } from '../../src/formats/zip.js';
import { REPO_ROOT } from '../helpers/runs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zip64-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function entries(bytes: Buffer): Promise<number> {
  const file = path.join(dir, `z${Math.random().toString(36).slice(2)}.zip`);
  await writeFile(file, bytes);
  const h = await open(file, 'r');
  try {
    return (await ZipReader.open(h, bytes.length, 'ckpt.pt')).entries.length;
  } finally {
    await h.close();
  }
}

// torch.save's normal.pt (12 672 bytes): ZIP64 end record at 12 574, its locator at 12 630, the end record at 12 650
const real = await readFile(path.join(REPO_ROOT, 'test/fixtures/checkpoints/normal.pt'));
const EOCD = real.length - 22;
const LOC = EOCD - 20;
const REC = LOC - 56;
const patched = (write: (b: Buffer) => void) => {
  const b = Buffer.from(real);
  write(b);
  return b;
};
const notZip = (why: string) =>
  expect.objectContaining({
    code: 'PARSE_ERROR',
    hostile: false,
    message: `ckpt.pt: not a readable zip archive (${why}); the file may be truncated or corrupt`,
  });
const disagree = expect.objectContaining({
  code: 'UNSAFE_ARTIFACT',
  hostile: true,
  message: `ckpt.pt: zip's end record (byte ${EOCD}) and ZIP64 end record (byte ${REC}) disagree about the central directory; refused`,
});

describe('zip reader: ZIP64 end records', () => {
  it('reads the fixture, whose 32-bit fields agree with the ZIP64 ones', async () => {
    expect(REC).toBe(12_574);
    expect(real.readUInt32LE(REC)).toBe(0x06064b50);
    await expect(entries(real)).resolves.toBe(11);
  });

  it('takes the ZIP64 values where the 32-bit fields are placeholders', async () => {
    await expect(
      entries(patched((b) => b.writeUInt16LE(0xffff, EOCD + 8) && b.writeUInt16LE(0xffff, EOCD + 10))),
    ).resolves.toBe(11);
    await expect(entries(patched((b) => b.writeUInt32LE(0xffffffff, EOCD + 12)))).resolves.toBe(11);
    await expect(entries(patched((b) => b.writeUInt32LE(0xffffffff, EOCD + 16)))).resolves.toBe(11);
  });

  it('refuses 32-bit fields that disagree with the ZIP64 record (count, size or offset)', async () => {
    await expect(
      entries(patched((b) => b.writeUInt16LE(12, EOCD + 8) && b.writeUInt16LE(12, EOCD + 10))),
    ).rejects.toThrow(disagree);
    await expect(entries(patched((b) => b.writeUInt32LE(653, EOCD + 12)))).rejects.toThrow(disagree);
    await expect(entries(patched((b) => b.writeUInt32LE(11_923, EOCD + 16)))).rejects.toThrow(disagree);
  });

  it('refuses a multi-disk ZIP64 archive, in the locator or in the record', async () => {
    for (const write of [
      (b: Buffer) => b.writeUInt32LE(1, LOC + 4),
      (b: Buffer) => b.writeUInt32LE(2, LOC + 16),
      (b: Buffer) => b.writeUInt32LE(1, REC + 16),
      (b: Buffer) => b.writeUInt32LE(1, REC + 20),
      (b: Buffer) => b.writeBigUInt64LE(10n, REC + 24),
    ]) {
      await expect(entries(patched(write))).rejects.toThrow(notZip('multi-disk ZIP64 archive'));
    }
    // a locator saying there is no other disk (0) or this one disk (1) is not multi-disk
    await expect(entries(patched((b) => b.writeUInt32LE(0, LOC + 16)))).resolves.toBe(11);
  });

  it('refuses a locator pointing where no ZIP64 record is, or past the end of the file', async () => {
    await expect(entries(patched((b) => b.writeBigUInt64LE(BigInt(REC + 1), LOC + 8)))).rejects.toThrow(
      notZip(`ZIP64 end-of-central-directory record missing at byte ${REC + 1}`),
    );
    await expect(entries(patched((b) => b.writeBigUInt64LE(20_000n, LOC + 8)))).rejects.toThrow(
      expect.objectContaining({
        code: 'PARSE_ERROR',
        file: 'ckpt.pt',
        message: `ckpt.pt: zip archive is truncated (needs bytes 20000..20056, file has ${real.length})`,
      }),
    );
  });

  it('refuses a ZIP64 record whose declared size does not reach its locator', async () => {
    await expect(entries(patched((b) => b.writeBigUInt64LE(45n, REC + 4)))).rejects.toThrow(
      expect.objectContaining({
        hostile: true,
        message: `ckpt.pt: zip's ZIP64 end record at byte ${REC} (declared 57 bytes) does not end where its locator starts (byte ${LOC}): bytes between them are unaccounted for; refused`,
      }),
    );
  });

  it.each([
    ['ZIP64 EOCD offset', LOC + 8],
    ['ZIP64 end record size', REC + 4],
    ['entry count on this disk', REC + 24],
    ['entry count', REC + 32],
    ['central directory size', REC + 40],
    ['central directory offset', REC + 48],
  ])('names an absurdly large %s', async (what, at) => {
    const v = 2n ** 60n;
    await expect(entries(patched((b) => b.writeBigUInt64LE(v, at)))).rejects.toThrow(
      expect.objectContaining({ hostile: true, message: `ckpt.pt: zip ${what} ${v} is absurdly large` }),
    );
  });

  it('the largest safe integer is not absurd (it is refused for disagreeing instead)', async () => {
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    await expect(entries(patched((b) => b.writeBigUInt64LE(max, REC + 48)))).rejects.toThrow(disagree);
  });
});
