import { crc32 } from 'node:zlib';
import { GateError } from '../errors.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  chunks: number;
  idatBytes: number;
}

const VALID_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/**
 * Validates a PNG's structure without decoding pixels: signature, IHDR first with sane
 * dimensions, every chunk's CRC, at least one IDAT, IEND last.
 */
export function inspectPng(buf: Buffer, file: string): PngInfo {
  const bad = (why: string) => new GateError('PARSE_ERROR', `${file} is not a valid PNG: ${why}`, { file });
  if (buf.length < SIGNATURE.length || !buf.subarray(0, 8).equals(SIGNATURE)) throw bad('missing PNG signature');
  let off = 8;
  let chunks = 0;
  let idatBytes = 0;
  let ihdr: { width: number; height: number; bitDepth: number; colorType: number } | null = null;
  let sawEnd = false;
  while (off < buf.length) {
    if (off + 12 > buf.length) throw bad(`truncated chunk header at byte ${off}`);
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad(`invalid chunk type at byte ${off}`);
    if (len > 0x7fffffff || off + 12 + len > buf.length)
      throw bad(`chunk ${type} at byte ${off} runs past the end of the file`);
    const crc = buf.readUInt32BE(off + 8 + len);
    if (crc32(buf.subarray(off + 4, off + 8 + len)) !== crc) throw bad(`CRC mismatch in chunk ${type} at byte ${off}`);
    if (chunks === 0) {
      if (type !== 'IHDR' || len !== 13) throw bad('first chunk is not a 13-byte IHDR');
      const width = buf.readUInt32BE(off + 8);
      const height = buf.readUInt32BE(off + 12);
      const bitDepth = buf[off + 16]!;
      const colorType = buf[off + 17]!;
      if (width === 0 || height === 0 || width > 100_000 || height > 100_000)
        throw bad(`implausible dimensions ${width}×${height}`);
      if (!VALID_DEPTHS[colorType]?.includes(bitDepth))
        throw bad(`invalid colour type ${colorType} / bit depth ${bitDepth}`);
      ihdr = { width, height, bitDepth, colorType };
    }
    if (type === 'IDAT') idatBytes += len;
    chunks++;
    off += 12 + len;
    if (type === 'IEND') {
      sawEnd = true;
      break;
    }
  }
  if (!ihdr) throw bad('no IHDR chunk');
  if (idatBytes === 0) throw bad('no image data (IDAT)');
  if (!sawEnd) throw bad('no IEND chunk (file truncated)');
  return { ...ihdr, chunks, idatBytes };
}
