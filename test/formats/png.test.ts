import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectPng } from '../../src/formats/png.js';
import { pngChunk as chunk, PNG_SIGNATURE as SIG } from '../helpers/png.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';

const FILE = 'results/production/confusion_matrix.png';
const real = await readFile(path.join(EXAMPLE_RUN, FILE));

function ihdr(width: number, height: number, depth = 8, colour = 6): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = depth;
  d[9] = colour;
  return chunk('IHDR', d);
}

const png = (...chunks: Buffer[]) => Buffer.concat([SIG, ...chunks]);
const bad = (why: string) => `${FILE} is not a valid PNG: ${why}`;

describe('inspectPng', () => {
  it('reads the example confusion matrix (real matplotlib PNG)', () => {
    const info = inspectPng(real, FILE);
    expect(info).toMatchObject({ width: 400, height: 320, bitDepth: 8 });
    expect(info.idatBytes).toBeGreaterThan(1000);
  });

  it('accepts a minimal hand-built PNG', () => {
    expect(
      inspectPng(png(ihdr(1, 1), chunk('IDAT', Buffer.from([1, 2, 3])), chunk('IEND', Buffer.alloc(0))), FILE),
    ).toEqual({
      width: 1,
      height: 1,
      bitDepth: 8,
      colorType: 6,
      chunks: 3,
      idatBytes: 3,
    });
  });

  it('rejects a bad CRC', () => {
    const c = Buffer.from(real);
    c[40] = c[40]! ^ 0x01;
    expect(() => inspectPng(c, FILE)).toThrow(/CRC mismatch in chunk \w{4} at byte \d+$/);
  });

  it('rejects a truncated file', () => {
    expect(() => inspectPng(real.subarray(0, 2000), FILE)).toThrow(
      /chunk IDAT at byte \d+ runs past the end of the file$/,
    );
    expect(() => inspectPng(real.subarray(0, real.length - 12), FILE)).toThrow(bad('no IEND chunk (file truncated)'));
    expect(() => inspectPng(real.subarray(0, 15), FILE)).toThrow(bad('truncated chunk header at byte 8'));
  });

  it('rejects something that is not a PNG', () => {
    expect(() => inspectPng(Buffer.from('GIF89a...'), FILE)).toThrow(bad('missing PNG signature'));
    expect(() => inspectPng(Buffer.alloc(0), FILE)).toThrow(bad('missing PNG signature'));
    expect(() => inspectPng(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]), FILE)).toThrow(
      expect.objectContaining({ code: 'PARSE_ERROR', file: FILE }),
    );
  });

  it('rejects structural defects', () => {
    const idat = chunk('IDAT', Buffer.from([1]));
    const iend = chunk('IEND', Buffer.alloc(0));
    expect(() => inspectPng(png(idat, iend), FILE)).toThrow(bad('first chunk is not a 13-byte IHDR'));
    expect(() => inspectPng(png(ihdr(1, 1), iend), FILE)).toThrow(bad('no image data (IDAT)'));
    expect(() => inspectPng(png(ihdr(0, 5), idat, iend), FILE)).toThrow(bad('implausible dimensions 0×5'));
    expect(() => inspectPng(png(ihdr(200_000, 5), idat, iend), FILE)).toThrow(bad('implausible dimensions 200000×5'));
    expect(() => inspectPng(png(ihdr(1, 1, 16, 3), idat, iend), FILE)).toThrow(
      bad('invalid colour type 3 / bit depth 16'),
    );
    expect(() => inspectPng(png(ihdr(1, 1), chunk('ID@T', Buffer.from([1])), iend), FILE)).toThrow(
      /invalid chunk type at byte 33$/,
    );
    expect(() => inspectPng(SIG, FILE)).toThrow(bad('no IHDR chunk'));
  });

  it('a length field claiming 4 GB is refused without reading', () => {
    const huge = Buffer.concat([SIG, Buffer.from([0xff, 0xff, 0xff, 0xf0]), Buffer.from('IHDR'), Buffer.alloc(20)]);
    expect(() => inspectPng(huge, FILE)).toThrow(/chunk IHDR at byte 8 runs past the end of the file$/);
  });
});
