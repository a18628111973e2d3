import { describe, expect, it } from 'vitest';
import { inspectPng } from '../../src/formats/png.js';
import { pngChunk as chunk, PNG_SIGNATURE as SIG } from '../helpers/png.js';

const FILE = 'results/plot.png';

function ihdrData(width: number, height: number, depth = 8, colour = 6, bytes = 13): Buffer {
  const d = Buffer.alloc(bytes);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = depth;
  d[9] = colour;
  return d;
}
const ihdr = (width: number, height: number, depth = 8, colour = 6) =>
  chunk('IHDR', ihdrData(width, height, depth, colour));
const idat = chunk('IDAT', Buffer.from([1, 2, 3]));
const iend = chunk('IEND', Buffer.alloc(0));
const png = (...chunks: Buffer[]) => Buffer.concat([SIG, ...chunks]);
const bad = (why: string) =>
  expect.objectContaining({ code: 'PARSE_ERROR', file: FILE, message: `${FILE} is not a valid PNG: ${why}` });

describe('inspectPng: the header chunk', () => {
  it('accepts every valid colour type with each of its bit depths', () => {
    const valid: [number, number[]][] = [
      [0, [1, 2, 4, 8, 16]],
      [2, [8, 16]],
      [3, [1, 2, 4, 8]],
      [4, [8, 16]],
      [6, [8, 16]],
    ];
    for (const [colour, depths] of valid) {
      for (const depth of depths) {
        expect(inspectPng(png(ihdr(3, 2, depth, colour), idat, iend), FILE), `${colour}/${depth}`).toEqual({
          width: 3,
          height: 2,
          bitDepth: depth,
          colorType: colour,
          chunks: 3,
          idatBytes: 3,
        });
      }
    }
  });

  it.each([
    [0, 3],
    [2, 4],
    [3, 16],
    [4, 1],
    [6, 2],
    [5, 8],
    [1, 8],
    [7, 8],
  ])('refuses colour type %i with bit depth %i', (colour, depth) => {
    expect(() => inspectPng(png(ihdr(1, 1, depth, colour), idat, iend), FILE)).toThrow(
      bad(`invalid colour type ${colour} / bit depth ${depth}`),
    );
  });

  it('accepts dimensions up to 100 000 on either side, not above, and not zero', () => {
    expect(inspectPng(png(ihdr(100_000, 100_000), idat, iend), FILE)).toMatchObject({
      width: 100_000,
      height: 100_000,
    });
    expect(() => inspectPng(png(ihdr(1, 100_001), idat, iend), FILE)).toThrow(bad('implausible dimensions 1×100001'));
    expect(() => inspectPng(png(ihdr(100_001, 1), idat, iend), FILE)).toThrow(bad('implausible dimensions 100001×1'));
    expect(() => inspectPng(png(ihdr(5, 0), idat, iend), FILE)).toThrow(bad('implausible dimensions 5×0'));
  });

  it('the first chunk must be an IHDR of exactly 13 bytes', () => {
    expect(() => inspectPng(png(chunk('IHDR', ihdrData(1, 1, 8, 6, 14)), idat, iend), FILE)).toThrow(
      bad('first chunk is not a 13-byte IHDR'),
    );
    expect(() => inspectPng(png(chunk('IHDR', ihdrData(1, 1, 8, 6, 12)), idat, iend), FILE)).toThrow(
      bad('first chunk is not a 13-byte IHDR'),
    );
    expect(() => inspectPng(png(chunk('tEXt', ihdrData(1, 1)), ihdr(1, 1), idat, iend), FILE)).toThrow(
      bad('first chunk is not a 13-byte IHDR'),
    );
  });
});

describe('inspectPng: chunks', () => {
  it('counts every chunk up to IEND and the IDAT bytes across several IDATs', () => {
    const text = chunk('tEXt', Buffer.from('Software\0test'));
    expect(inspectPng(png(ihdr(2, 2), text, idat, chunk('IDAT', Buffer.alloc(10)), iend), FILE)).toMatchObject({
      chunks: 5,
      idatBytes: 13,
    });
  });

  it('stops at IEND: bytes after it are not read as chunks', () => {
    expect(inspectPng(png(ihdr(1, 1), idat, iend, Buffer.from('trailing junk')), FILE)).toMatchObject({ chunks: 3 });
  });

  it('a chunk cut short inside its CRC runs past the end of the file', () => {
    const whole = png(ihdr(1, 1), chunk('IDAT', Buffer.alloc(100)), iend);
    // IHDR is 25 bytes from byte 8: IDAT starts at 33 and its CRC ends at 33 + 12 + 100
    expect(() => inspectPng(whole.subarray(0, 33 + 12 + 100 - 2), FILE)).toThrow(
      bad('chunk IDAT at byte 33 runs past the end of the file'),
    );
  });

  it('refuses a chunk type with a character that is not a letter, wherever it is', () => {
    for (const type of ['1DAT', 'IDA1', 'ID T']) {
      expect(() => inspectPng(png(ihdr(1, 1), chunk(type, Buffer.from([1])), iend), FILE), type).toThrow(
        bad('invalid chunk type at byte 33'),
      );
    }
  });
});
