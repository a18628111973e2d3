import type { FileHandle } from 'node:fs/promises';
import { GateError } from '../errors.js';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  flags: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 16 * 1024 * 1024;
const MAX_ENTRIES = 10_000;

async function readAt(handle: FileHandle, offset: number, length: number, rel: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) throw new GateError('PARSE_ERROR', `${rel} is truncated (zip structure points past the end)`, { file: rel });
    done += bytesRead;
  }
  return buf;
}

function u64(buf: Buffer, off: number, rel: string): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GateError('PARSE_ERROR', `${rel}: zip64 field is impossibly large`, { file: rel });
  return Number(v);
}

/** Reads the central directory of a zip (.npz), with zip64 support, without reading entry data. */
export async function readZipDirectory(handle: FileHandle, fileSize: number, rel: string): Promise<ZipEntry[]> {
  const tailLen = Math.min(fileSize, 22 + 65535);
  if (tailLen < 22) throw new GateError('PARSE_ERROR', `${rel} is not a zip/.npz archive (too short)`, { file: rel });
  const tail = await readAt(handle, fileSize - tailLen, tailLen, rel);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new GateError('PARSE_ERROR', `${rel} is not a zip/.npz archive (no end-of-central-directory record)`, { file: rel });
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locAt = eocd - 20;
    if (locAt < 0 || tail.readUInt32LE(locAt) !== ZIP64_LOCATOR_SIG) {
      throw new GateError('PARSE_ERROR', `${rel}: zip64 end-of-central-directory locator missing`, { file: rel });
    }
    const z64Offset = u64(tail, locAt + 8, rel);
    const z64 = await readAt(handle, z64Offset, 56, rel);
    if (z64.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new GateError('PARSE_ERROR', `${rel}: zip64 end-of-central-directory record missing`, { file: rel });
    count = u64(z64, 32, rel);
    cdSize = u64(z64, 40, rel);
    cdOffset = u64(z64, 48, rel);
  }
  if (count > MAX_ENTRIES || cdSize > MAX_CENTRAL_DIRECTORY || cdOffset + cdSize > fileSize) {
    throw new GateError('PARSE_ERROR', `${rel}: implausible zip central directory (${count} entries, ${cdSize} bytes at ${cdOffset})`, { file: rel });
  }
  const cd = await readAt(handle, cdOffset, cdSize, rel);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) {
      throw new GateError('PARSE_ERROR', `${rel}: corrupt zip central directory (entry ${i})`, { file: rel });
    }
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressedSize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: present fields follow in a fixed order
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff) {
          uncompressedSize = u64(cd, q, rel);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(cd, q, rel);
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(cd, q, rel);
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, uncompressedSize, localHeaderOffset, flags });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** Offset of an entry's data: after its local header, whose name/extra lengths may differ from the central copy. */
export async function entryDataOffset(handle: FileHandle, fileSize: number, entry: ZipEntry, rel: string): Promise<number> {
  const lh = await readAt(handle, entry.localHeaderOffset, 30, rel);
  if (lh.readUInt32LE(0) !== LOCAL_SIG) throw new GateError('PARSE_ERROR', `${rel}: corrupt zip local header for ${entry.name}`, { file: rel });
  const start = entry.localHeaderOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  if (start + entry.compressedSize > fileSize) {
    throw new GateError('PARSE_ERROR', `${rel}: entry ${entry.name} is truncated (${entry.compressedSize} bytes declared past the end of the file)`, {
      file: rel,
    });
  }
  return start;
}
