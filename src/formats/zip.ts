import type { FileHandle } from 'node:fs/promises';
import { Inflate } from 'fflate';
import { GateError } from '../errors.js';
import { crc32 } from 'node:zlib';

/**
 * A zip reader over an open FileHandle that reads only the end-of-central-directory records, the
 * central directory and the entries it is asked for — never the whole file. It refuses archives
 * that are malformed in ways an attacker would use: escaping or confusing names, duplicate names,
 * central/local header disagreements, overlapping entries, sizes that disagree with the data, and
 * compression ratios or total sizes over a cap (zip bombs). Stored and deflated entries are read;
 * ZIP64 (which torch writes for every archive) is supported.
 */

export interface ZipLimits {
  /** Sum of the declared uncompressed sizes of all entries. */
  maxTotalUncompressedBytes: number;
  /** Uncompressed / compressed, refused above this for entries larger than `ratioFloorBytes`. */
  maxCompressionRatio: number;
  ratioFloorBytes: number;
  maxEntries: number;
  maxCentralDirectoryBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxTotalUncompressedBytes: 8 * 1024 * 1024 * 1024,
  maxCompressionRatio: 100,
  ratioFloorBytes: 1024 * 1024,
  maxEntries: 100_000,
  maxCentralDirectoryBytes: 64 * 1024 * 1024,
};

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  /** Name length in bytes (for the central-only overlap check). */
  nameBytes: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const FLAG_ENCRYPTED = 0x1;
const FLAG_DESCRIPTOR = 0x8;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function u64(buf: Buffer, off: number, what: string, file: string): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GateError('UNSAFE_ARTIFACT', `${file}: zip ${what} ${v} is absurdly large`, { file, hostile: true });
  return Number(v);
}

/** Refuses entry names that could escape or confuse an extraction folder. */
export function checkEntryName(name: string, file: string): void {
  const bad =
    name.length === 0 ? 'is empty'
    : name.includes('\0') ? 'contains a NUL byte'
    : name.includes('\\') ? 'contains a backslash'
    : name.startsWith('/') || /^[A-Za-z]:/.test(name) ? 'is absolute'
    : name.split('/').includes('..') ? 'contains ".." (zip-slip)'
    : null;
  if (bad) throw new GateError('UNSAFE_ARTIFACT', `${file}: zip entry "${name}" ${bad}; refused`, { file, hostile: true });
}

export class ZipReader {
  readonly entries: readonly ZipEntry[];
  private readonly byName: Map<string, ZipEntry>;
  /** Bytes read from the file so far (for the benchmark and tests: proves data was not read). */
  bytesRead = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly file: string,
    entries: ZipEntry[],
    private readonly centralStart: number,
  ) {
    this.entries = entries;
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  private async read(position: number, length: number): Promise<Buffer> {
    if (position < 0 || length < 0 || position + length > this.size) {
      throw new GateError('PARSE_ERROR', `${this.file}: zip archive is truncated (needs bytes ${position}..${position + length}, file has ${this.size})`, { file: this.file });
    }
    const buf = Buffer.alloc(length);
    let off = 0;
    while (off < length) {
      const { bytesRead } = await this.handle.read(buf, off, length - off, position + off);
      if (bytesRead === 0) throw new GateError('PARSE_ERROR', `${this.file}: zip archive is truncated`, { file: this.file });
      off += bytesRead;
    }
    this.bytesRead += length;
    return buf;
  }

  static async open(handle: FileHandle, size: number, file: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipReader> {
    const probe = new ZipReader(handle, size, file, [], 0);
    const notZip = (why: string) => new GateError('PARSE_ERROR', `${file}: not a readable zip archive (${why}); the file may be truncated or corrupt`, { file });
    if (size < 22) throw notZip(`${size} bytes is too short for a zip`);
    const tailLen = Math.min(size, 22 + U16_MAX + 20);
    const tailStart = size - tailLen;
    const tail = await probe.read(tailStart, tailLen);
    // The EOCD is the last record whose comment runs exactly to the end of the file.
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw notZip('no end-of-central-directory record');
    const disk = tail.readUInt16LE(eocd + 4);
    const cdDisk = tail.readUInt16LE(eocd + 6);
    let count = tail.readUInt16LE(eocd + 10);
    const countThisDisk = tail.readUInt16LE(eocd + 8);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdPos = tailStart + eocd;
    let cdEndLimit = eocdPos;
    // ZIP64: torch writes the locator and the ZIP64 EOCD for every archive.
    if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === SIG_EOCD64_LOCATOR) {
      const loc = eocd - 20;
      const eocd64Pos = u64(tail, loc + 8, 'ZIP64 EOCD offset', file);
      if (tail.readUInt32LE(loc + 4) !== 0 || tail.readUInt32LE(loc + 16) > 1) throw notZip('multi-disk ZIP64 archive');
      const rec = await probe.read(eocd64Pos, 56);
      if (rec.readUInt32LE(0) !== SIG_EOCD64) throw notZip('ZIP64 end-of-central-directory record missing');
      if (rec.readUInt32LE(16) !== 0 || rec.readUInt32LE(20) !== 0) throw notZip('multi-disk ZIP64 archive');
      const count64 = u64(rec, 32, 'entry count', file);
      const cdSize64 = u64(rec, 40, 'central directory size', file);
      const cdOffset64 = u64(rec, 48, 'central directory offset', file);
      // The 32-bit fields must either agree or be the ZIP64 placeholders.
      if ((count !== U16_MAX && count !== count64) || (cdSize !== U32_MAX && cdSize !== cdSize64) || (cdOffset !== U32_MAX && cdOffset !== cdOffset64)) {
        throw new GateError('UNSAFE_ARTIFACT', `${file}: zip and ZIP64 end records disagree about the central directory; refused`, { file, hostile: true });
      }
      count = count64;
      cdSize = cdSize64;
      cdOffset = cdOffset64;
      cdEndLimit = eocd64Pos;
    } else {
      if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) throw notZip('ZIP64 fields without a ZIP64 locator');
      if (disk !== 0 || cdDisk !== 0 || countThisDisk !== count) throw notZip('multi-disk archive');
    }
    if (count > limits.maxEntries) {
      throw new GateError('UNSAFE_ARTIFACT', `${file}: zip declares ${count} entries; the limit is ${limits.maxEntries}`, { file, hostile: true });
    }
    if (cdSize > limits.maxCentralDirectoryBytes) {
      throw new GateError('UNSAFE_ARTIFACT', `${file}: zip central directory is ${cdSize} bytes; the limit is ${limits.maxCentralDirectoryBytes}`, { file, hostile: true });
    }
    if (cdOffset + cdSize > cdEndLimit) throw notZip(`central directory (${cdOffset}+${cdSize}) runs past its end record at ${cdEndLimit}`);
    const cd = await probe.read(cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    const seen = new Map<string, string>();
    let pos = 0;
    let totalUncompressed = 0;
    for (let i = 0; i < count; i++) {
      if (pos + 46 > cd.length || cd.readUInt32LE(pos) !== SIG_CENTRAL) throw notZip(`central directory entry ${i} is malformed`);
      const flags = cd.readUInt16LE(pos + 8);
      const method = cd.readUInt16LE(pos + 10);
      const crc = cd.readUInt32LE(pos + 16);
      let compressedSize = cd.readUInt32LE(pos + 20);
      let uncompressedSize = cd.readUInt32LE(pos + 24);
      const nameLen = cd.readUInt16LE(pos + 28);
      const extraLen = cd.readUInt16LE(pos + 30);
      const commentLen = cd.readUInt16LE(pos + 32);
      const diskStart = cd.readUInt16LE(pos + 34);
      let localHeaderOffset = cd.readUInt32LE(pos + 42);
      const end = pos + 46 + nameLen + extraLen + commentLen;
      if (end > cd.length) throw notZip(`central directory entry ${i} runs past the directory`);
      const nameRaw = cd.subarray(pos + 46, pos + 46 + nameLen);
      let name: string;
      try {
        name = utf8.decode(nameRaw);
      } catch {
        throw new GateError('UNSAFE_ARTIFACT', `${file}: zip entry ${i} has a name that is not valid UTF-8; refused`, { file, hostile: true });
      }
      checkEntryName(name, file);
      const extra = cd.subarray(pos + 46 + nameLen, pos + 46 + nameLen + extraLen);
      if (uncompressedSize === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX) {
        const z = zip64Extra(extra);
        if (!z) throw notZip(`entry "${name}" uses ZIP64 sizes without a ZIP64 extra field`);
        let k = 0;
        const next = (what: string) => {
          if (k + 8 > z.length) throw notZip(`entry "${name}" has a short ZIP64 extra field`);
          const v = u64(z, k, what, file);
          k += 8;
          return v;
        };
        if (uncompressedSize === U32_MAX) uncompressedSize = next('uncompressed size');
        if (compressedSize === U32_MAX) compressedSize = next('compressed size');
        if (localHeaderOffset === U32_MAX) localHeaderOffset = next('local header offset');
      }
      if (diskStart !== 0 && diskStart !== U16_MAX) throw notZip('multi-disk archive');
      const folded = name.toLowerCase();
      const prior = seen.get(folded);
      if (prior !== undefined) {
        throw new GateError(
          'UNSAFE_ARTIFACT',
          `${file}: zip has two entries named "${prior}"${prior === name ? '' : ` and "${name}"`}; which one a reader uses is ambiguous; refused`,
          { file, hostile: true },
        );
      }
      seen.set(folded, name);
      if (flags & FLAG_ENCRYPTED) throw new GateError('UNSUPPORTED_FORMAT', `${file}: zip entry "${name}" is encrypted`, { file });
      if (method === METHOD_STORED && compressedSize !== uncompressedSize) {
        throw new GateError('UNSAFE_ARTIFACT', `${file}: stored zip entry "${name}" declares ${uncompressedSize} bytes but holds ${compressedSize}; refused`, { file, hostile: true });
      }
      if (uncompressedSize >= limits.ratioFloorBytes && uncompressedSize > compressedSize * limits.maxCompressionRatio) {
        const ratio = compressedSize === 0 ? 'infinite' : `${Math.round(uncompressedSize / compressedSize)}:1`;
        throw new GateError(
          'UNSAFE_ARTIFACT',
          `${file}: zip entry "${name}" declares ${uncompressedSize} bytes from ${compressedSize} compressed (ratio ${ratio}, limit ${limits.maxCompressionRatio}:1): zip bomb refused`,
          { file, hostile: true },
        );
      }
      totalUncompressed += uncompressedSize;
      if (totalUncompressed > limits.maxTotalUncompressedBytes) {
        throw new GateError(
          'UNSAFE_ARTIFACT',
          `${file}: zip entries declare more than ${limits.maxTotalUncompressedBytes} bytes uncompressed in total (limit limits.max_checkpoint_uncompressed_bytes): zip bomb refused`,
          { file, hostile: true },
        );
      }
      entries.push({ name, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset, nameBytes: nameLen });
      pos = end;
    }
    // Entries must lie before the central directory and must not overlap (overlap = quoted-entry bomb).
    const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i]!;
      const minEnd = e.localHeaderOffset + 30 + e.nameBytes + e.compressedSize;
      const limit = i + 1 < sorted.length ? sorted[i + 1]!.localHeaderOffset : cdOffset;
      if (minEnd > limit) {
        if (i + 1 >= sorted.length && minEnd > size) throw notZip(`entry "${e.name}" runs past the end of the file`);
        throw new GateError('UNSAFE_ARTIFACT', `${file}: zip entry "${e.name}" overlaps ${i + 1 < sorted.length ? `entry "${sorted[i + 1]!.name}"` : 'the central directory'}; refused`, {
          file,
          hostile: true,
        });
      }
    }
    return new ZipReader(handle, size, file, entries, cdOffset);
  }

  /**
   * Where an entry's data starts, after checking its local header against the central directory
   * (name, method, sizes, CRC) and that the data does not run into the directory.
   */
  async dataStart(e: ZipEntry): Promise<{ start: number; localZip64: boolean }> {
    const h = await this.read(e.localHeaderOffset, 30);
    const mismatch = (what: string) =>
      new GateError('UNSAFE_ARTIFACT', `${this.file}: zip entry "${e.name}": local header and central directory disagree about the ${what}; refused`, {
        file: this.file,
        hostile: true,
      });
    if (h.readUInt32LE(0) !== SIG_LOCAL) throw mismatch('entry position (no local header there)');
    const flags = h.readUInt16LE(6);
    const method = h.readUInt16LE(8);
    const nameLen = h.readUInt16LE(26);
    const extraLen = h.readUInt16LE(28);
    const rest = await this.read(e.localHeaderOffset + 30, nameLen + extraLen);
    const localName = rest.subarray(0, nameLen).toString('utf8');
    if (localName !== e.name) throw mismatch(`name ("${localName}" vs "${e.name}")`);
    if (method !== e.method) throw mismatch(`compression method (${method} vs ${e.method})`);
    if ((flags & FLAG_DESCRIPTOR) !== (e.flags & FLAG_DESCRIPTOR)) throw mismatch('data descriptor flag');
    const extra = rest.subarray(nameLen);
    const z = zip64Extra(extra);
    let crc = h.readUInt32LE(14);
    let csize = h.readUInt32LE(18);
    let usize = h.readUInt32LE(22);
    if (z && (usize === U32_MAX || csize === U32_MAX) && z.length >= 16) {
      usize = u64(z, 0, 'uncompressed size', this.file);
      csize = u64(z, 8, 'compressed size', this.file);
    }
    // With a data descriptor the local fields may be zero; otherwise they must agree.
    const deferred = (flags & FLAG_DESCRIPTOR) !== 0 && crc === 0 && csize === 0 && usize === 0;
    if (!deferred) {
      if (csize !== e.compressedSize || usize !== e.uncompressedSize) throw mismatch(`sizes (${csize}/${usize} vs ${e.compressedSize}/${e.uncompressedSize})`);
      if (crc !== e.crc32) throw mismatch('CRC-32');
    }
    const start = e.localHeaderOffset + 30 + nameLen + extraLen;
    if (start + e.compressedSize > this.centralStart) {
      throw new GateError('UNSAFE_ARTIFACT', `${this.file}: zip entry "${e.name}" data runs into the central directory; refused`, { file: this.file, hostile: true });
    }
    if (deferred) {
      // Check the data descriptor after the data (4- or 8-byte sizes, optional signature).
      const wide = z !== null;
      const len = wide ? 24 : 16;
      const d = await this.read(start + e.compressedSize, Math.min(len, this.size - start - e.compressedSize));
      const o = d.length >= 4 && d.readUInt32LE(0) === SIG_DESCRIPTOR ? 4 : 0;
      if (d.length < o + (wide ? 20 : 12)) throw mismatch('data descriptor (missing)');
      crc = d.readUInt32LE(o);
      csize = wide ? u64(d, o + 4, 'compressed size', this.file) : d.readUInt32LE(o + 4);
      usize = wide ? u64(d, o + 12, 'uncompressed size', this.file) : d.readUInt32LE(o + 8);
      if (crc !== e.crc32 || csize !== e.compressedSize || usize !== e.uncompressedSize) throw mismatch('data descriptor (CRC or sizes)');
    }
    return { start, localZip64: z !== null };
  }

  /**
   * Reads a whole entry (inflating it if needed), refusing it if it is over `maxBytes`, if the
   * inflated size differs from the declared size, or if its CRC-32 is wrong.
   */
  async readEntry(e: ZipEntry, maxBytes: number): Promise<Buffer> {
    if (e.uncompressedSize > maxBytes) {
      throw new GateError('TOO_LARGE', `${this.file}: zip entry "${e.name}" is ${e.uncompressedSize} bytes; the limit is ${maxBytes}`, { file: this.file });
    }
    const { start } = await this.dataStart(e);
    const raw = await this.read(start, e.compressedSize);
    let data: Buffer;
    if (e.method === METHOD_STORED) data = raw;
    else if (e.method === METHOD_DEFLATE) data = inflateCapped(raw, e.uncompressedSize, e.name, this.file);
    else throw new GateError('UNSUPPORTED_FORMAT', `${this.file}: zip entry "${e.name}" uses compression method ${e.method}; only stored and deflate are read`, { file: this.file });
    if (crc32(data) !== e.crc32) {
      throw new GateError('UNSAFE_ARTIFACT', `${this.file}: zip entry "${e.name}" fails its CRC-32 check (content differs from what the directory declares); refused`, {
        file: this.file,
        hostile: true,
      });
    }
    return data;
  }

  /**
   * Streams bytes [from, to) of a stored entry in chunks, reading only that range of the file.
   * Deflated entries are read whole (capped) and sliced.
   */
  async *streamRange(e: ZipEntry, from: number, to: number, chunk = 1024 * 1024, maxWholeBytes = 512 * 1024 * 1024): AsyncGenerator<Buffer> {
    if (from < 0 || to > e.uncompressedSize || from > to) {
      throw new GateError('PARSE_ERROR', `${this.file}: bytes ${from}..${to} are outside zip entry "${e.name}" (${e.uncompressedSize} bytes)`, { file: this.file });
    }
    if (e.method !== METHOD_STORED) {
      const whole = await this.readEntry(e, maxWholeBytes);
      yield whole.subarray(from, to);
      return;
    }
    const { start } = await this.dataStart(e);
    for (let p = from; p < to; p += chunk) {
      yield await this.read(start + p, Math.min(chunk, to - p));
    }
  }
}

function zip64Extra(extra: Buffer): Buffer | null {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (p + 4 + len > extra.length) return null;
    if (id === 0x0001) return extra.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  return null;
}

/** Inflates, stopping as soon as the output exceeds the declared size (a lying header). */
function inflateCapped(raw: Buffer, declared: number, name: string, file: string): Buffer {
  const parts: Uint8Array[] = [];
  let total = 0;
  let over = false;
  const inf = new Inflate((chunk) => {
    total += chunk.length;
    if (total > declared) over = true;
    else parts.push(chunk);
  });
  const step = 64 * 1024;
  try {
    for (let p = 0; p < raw.length && !over; p += step) inf.push(raw.subarray(p, Math.min(raw.length, p + step)), p + step >= raw.length);
  } catch (err) {
    throw new GateError('PARSE_ERROR', `${file}: zip entry "${name}" is not valid deflate data`, { file, cause: err });
  }
  if (over || total !== declared) {
    throw new GateError(
      'UNSAFE_ARTIFACT',
      `${file}: zip entry "${name}" declares ${declared} bytes but inflates to ${over ? `more than ${declared}` : total}; refused`,
      { file, hostile: true },
    );
  }
  return Buffer.concat(parts, total);
}
