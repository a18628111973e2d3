import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { Inflate } from 'fflate';
import { GateError } from '../errors.js';

/**
 * A zip reader over an open FileHandle that reads only the end records, the central directory,
 * the local headers and the entries it is asked for — never the whole file.
 *
 * It accepts an archive only when there is exactly one way to read it, so that no other zip
 * reader (PyTorch's miniz, Python's zipfile, a streaming reader walking local headers from byte 0)
 * can see different entries than we do:
 * - one end-of-central-directory record, whose comment runs exactly to the end of the file, and no
 *   other end-record, ZIP64 end-record, ZIP64 locator or central-directory signature after its
 *   first byte (miniz takes the *last* end-record signature in the file, whatever its comment
 *   length);
 * - the central directory (and the ZIP64 end record and locator, when present) directly before
 *   the end record, holding exactly the declared entries and nothing else;
 * - entries laid end to end from byte 0 to the central directory: no prepended data, no gaps
 *   (where a second directory could hide), no overlaps (quoted-entry bombs);
 * - every local header agreeing with its central record (name bytes, flags, method, CRC, sizes).
 * It also refuses escaping or confusing names, duplicate names, and compression ratios or total
 * sizes over a cap (zip bombs). Stored and deflated entries are read; ZIP64 (which torch writes
 * for every archive) is supported. Each refusal names the byte offset it is about.
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
  /** Name length in bytes. */
  nameBytes: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const EOCD_BYTES = 22;
const EOCD64_BYTES = 56;
const LOCATOR_BYTES = 20;
const CENTRAL_BYTES = 46;
const LOCAL_BYTES = 30;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const FLAG_ENCRYPTED = 0x1;
const FLAG_DESCRIPTOR = 0x8;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
/** Signatures a reader searching the tail of a file could take for the start of a directory. */
const DIRECTORY_SIGNATURES: ReadonlyMap<number, string> = new Map([
  [SIG_EOCD, 'end-of-central-directory'],
  [SIG_EOCD64, 'ZIP64 end-of-central-directory'],
  [SIG_EOCD64_LOCATOR, 'ZIP64 end-of-central-directory locator'],
  [SIG_CENTRAL, 'central-directory'],
]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function u64(buf: Buffer, off: number, what: string, file: string): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw unsafe(file, `${file}: zip ${what} ${v} is absurdly large`);
  return Number(v);
}

/** A refusal of a hostile archive: `message` is the whole sentence. */
function unsafe(file: string, message: string): GateError {
  return new GateError('UNSAFE_ARTIFACT', message, { file, hostile: true });
}

function hostile(file: string, why: string): GateError {
  return unsafe(file, `${file}: ${why}; refused`);
}

function notZip(file: string, why: string): GateError {
  return new GateError(
    'PARSE_ERROR',
    `${file}: not a readable zip archive (${why}); the file may be truncated or corrupt`,
    { file },
  );
}

/** Refuses entry names that could escape or confuse an extraction folder. */
export function checkEntryName(name: string, file: string): void {
  const bad =
    name.length === 0
      ? 'is empty'
      : name.includes('\0')
        ? 'contains a NUL byte'
        : name.includes('\\')
          ? 'contains a backslash'
          : name.startsWith('/') || /^[A-Za-z]:/.test(name)
            ? 'is absolute'
            : name.split('/').includes('..')
              ? 'contains ".." (zip-slip)'
              : null;
  if (bad) throw hostile(file, `zip entry "${name}" ${bad}`);
}

/** Where the end records say the central directory is. */
interface DirectoryLocation {
  count: number;
  offset: number;
  size: number;
  /** Where the central directory must end: the ZIP64 end record, or the end record. */
  end: number;
}

/** Reads bytes of the file at absolute positions. */
type ReadAt = (position: number, length: number) => Promise<Buffer>;

/**
 * Step 1: the end record. It is the last end-record signature whose comment runs exactly to the
 * end of the file, and there must be no directory signature after its first byte: miniz (and
 * Python's zipfile) take the last end-record signature in the file, whatever its comment length.
 * Returns -1 when `tail` holds no end record and is not the whole search window (`final`).
 */
function findEndRecord(tail: Buffer, tailStart: number, file: string, final: boolean): number {
  let eocd = -1;
  for (let i = tail.length - EOCD_BYTES; i >= 0 && eocd < 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_BYTES + tail.readUInt16LE(i + 20) === tail.length) eocd = i;
  }
  if (eocd < 0) {
    if (!final) return -1;
    // The last end record a reader would take: if its comment stops short of the end of the file,
    // the bytes after it are appended data; if it runs past the end, the file is truncated.
    for (let i = tail.length - EOCD_BYTES; i >= 0; i--) {
      const end = i + EOCD_BYTES + (tail.readUInt32LE(i) === SIG_EOCD ? tail.readUInt16LE(i + 20) : Infinity);
      if (end < tail.length) {
        throw hostile(
          file,
          `zip has ${tail.length - end} bytes of trailing data at byte ${tailStart + end}, after the end record at byte ${tailStart + i} and its comment`,
        );
      }
      if (end !== Infinity) break;
    }
    throw notZip(file, 'no end-of-central-directory record');
  }
  const stray: string[] = [];
  for (let i = eocd + 1; i + 4 <= tail.length; i++) {
    const what = DIRECTORY_SIGNATURES.get(tail.readUInt32LE(i));
    if (what) stray.push(`${what} signature at byte ${tailStart + i}`);
  }
  if (stray.length > 0) {
    const second = stray.find((s) => s.startsWith('end-of-central-directory'));
    throw hostile(
      file,
      `zip has ${second ? `a second end record (${second})` : `a ${stray[0]}`} after its end record at byte ${tailStart + eocd}, in its comment` +
        `${stray.length > 1 ? ` (${stray.length} directory signatures there: ${stray.slice(0, 4).join(', ')}${stray.length > 4 ? ', …' : ''})` : ''}: ` +
        `PyTorch's zip reader (miniz) takes the last end-record signature in the file, whatever its comment length, so it would read a different archive than the one checked`,
    );
  }
  return eocd;
}

/**
 * Step 2: where the central directory is, from the end record and (when torch wrote one) the ZIP64
 * end record and locator, which must sit directly between the directory and the end record.
 */
async function locateCentralDirectory(
  read: ReadAt,
  tail: Buffer,
  tailStart: number,
  eocd: number,
  file: string,
): Promise<DirectoryLocation> {
  const eocdPos = tailStart + eocd;
  const disk = tail.readUInt16LE(eocd + 4);
  const cdDisk = tail.readUInt16LE(eocd + 6);
  const countThisDisk = tail.readUInt16LE(eocd + 8);
  const count = tail.readUInt16LE(eocd + 10);
  const size = tail.readUInt32LE(eocd + 12);
  const offset = tail.readUInt32LE(eocd + 16);
  if (!(eocd >= LOCATOR_BYTES && tail.readUInt32LE(eocd - LOCATOR_BYTES) === SIG_EOCD64_LOCATOR)) {
    if (count === U16_MAX || size === U32_MAX || offset === U32_MAX)
      throw notZip(file, 'ZIP64 fields without a ZIP64 locator');
    if (disk !== 0 || cdDisk !== 0 || countThisDisk !== count) throw notZip(file, 'multi-disk archive');
    return { count, offset, size, end: eocdPos };
  }
  const loc = eocd - LOCATOR_BYTES;
  const eocd64Pos = u64(tail, loc + 8, 'ZIP64 EOCD offset', file);
  if (tail.readUInt32LE(loc + 4) !== 0 || tail.readUInt32LE(loc + 16) > 1)
    throw notZip(file, 'multi-disk ZIP64 archive');
  const rec = await read(eocd64Pos, EOCD64_BYTES);
  if (rec.readUInt32LE(0) !== SIG_EOCD64)
    throw notZip(file, `ZIP64 end-of-central-directory record missing at byte ${eocd64Pos}`);
  if (rec.readUInt32LE(16) !== 0 || rec.readUInt32LE(20) !== 0) throw notZip(file, 'multi-disk ZIP64 archive');
  const recordSize = u64(rec, 4, 'ZIP64 end record size', file);
  const loc64Pos = eocdPos - LOCATOR_BYTES;
  if (recordSize !== EOCD64_BYTES - 12 || eocd64Pos + EOCD64_BYTES !== loc64Pos) {
    throw hostile(
      file,
      `zip's ZIP64 end record at byte ${eocd64Pos} (declared ${recordSize + 12} bytes) does not end where its locator starts (byte ${loc64Pos}): bytes between them are unaccounted for`,
    );
  }
  const count64 = u64(rec, 32, 'entry count', file);
  const size64 = u64(rec, 40, 'central directory size', file);
  const offset64 = u64(rec, 48, 'central directory offset', file);
  if (u64(rec, 24, 'entry count on this disk', file) !== count64) throw notZip(file, 'multi-disk ZIP64 archive');
  // The 32-bit fields must either agree or be the ZIP64 placeholders.
  if (
    (count !== U16_MAX && count !== count64) ||
    (size !== U32_MAX && size !== size64) ||
    (offset !== U32_MAX && offset !== offset64)
  ) {
    throw hostile(
      file,
      `zip's end record (byte ${eocdPos}) and ZIP64 end record (byte ${eocd64Pos}) disagree about the central directory`,
    );
  }
  return { count: count64, offset: offset64, size: size64, end: eocd64Pos };
}

/** Step 3: the directory holds the declared number of entries, within limits, and ends at its end record. */
function checkDirectoryLocation(dir: DirectoryLocation, limits: ZipLimits, file: string): void {
  if (dir.count > limits.maxEntries)
    throw hostile(file, `zip declares ${dir.count} entries; the limit is ${limits.maxEntries}`);
  if (dir.size > limits.maxCentralDirectoryBytes)
    throw hostile(file, `zip central directory is ${dir.size} bytes; the limit is ${limits.maxCentralDirectoryBytes}`);
  const cdEnd = dir.offset + dir.size;
  if (cdEnd > dir.end)
    throw notZip(file, `central directory (${dir.offset}+${dir.size}) runs past its end record at ${dir.end}`);
  if (cdEnd < dir.end) {
    throw hostile(
      file,
      `zip has ${dir.end - cdEnd} unaccounted bytes at byte ${cdEnd}, between the central directory and its end record at byte ${dir.end} (prepended data or a hidden directory)`,
    );
  }
}

/** One central-directory record at `pos` of the directory (ZIP64 sizes resolved), and where the next one starts. */
function readCentralRecord(
  cd: Buffer,
  pos: number,
  i: number,
  at: number,
  file: string,
): { entry: ZipEntry; end: number } {
  if (pos + CENTRAL_BYTES > cd.length || cd.readUInt32LE(pos) !== SIG_CENTRAL)
    throw notZip(file, `central directory entry ${i} at byte ${at} is malformed`);
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
  const end = pos + CENTRAL_BYTES + nameLen + extraLen + commentLen;
  if (end > cd.length) throw notZip(file, `central directory entry ${i} at byte ${at} runs past the directory`);
  let name: string;
  try {
    name = utf8.decode(cd.subarray(pos + CENTRAL_BYTES, pos + CENTRAL_BYTES + nameLen));
  } catch {
    throw hostile(file, `zip entry ${i} (central record at byte ${at}) has a name that is not valid UTF-8`);
  }
  checkEntryName(name, file);
  const extra = cd.subarray(pos + CENTRAL_BYTES + nameLen, pos + CENTRAL_BYTES + nameLen + extraLen);
  if (uncompressedSize === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX) {
    const z = zip64Extra(extra);
    if (!z) throw notZip(file, `entry "${name}" uses ZIP64 sizes without a ZIP64 extra field`);
    let k = 0;
    const next = (what: string) => {
      if (k + 8 > z.length) throw notZip(file, `entry "${name}" has a short ZIP64 extra field`);
      const v = u64(z, k, what, file);
      k += 8;
      return v;
    };
    if (uncompressedSize === U32_MAX) uncompressedSize = next('uncompressed size');
    if (compressedSize === U32_MAX) compressedSize = next('compressed size');
    if (localHeaderOffset === U32_MAX) localHeaderOffset = next('local header offset');
  }
  if (diskStart !== 0 && diskStart !== U16_MAX) throw notZip(file, 'multi-disk archive');
  const entry: ZipEntry = {
    name,
    method,
    flags,
    crc32: crc,
    compressedSize,
    uncompressedSize,
    localHeaderOffset,
    nameBytes: nameLen,
  };
  return { entry, end };
}

/** An entry's own limits: not encrypted, a stored entry holds what it declares, no bomb-like ratio. */
function checkEntry(e: ZipEntry, limits: ZipLimits, file: string): void {
  if (e.flags & FLAG_ENCRYPTED)
    throw new GateError('UNSUPPORTED_FORMAT', `${file}: zip entry "${e.name}" is encrypted`, { file });
  if (e.method === METHOD_STORED && e.compressedSize !== e.uncompressedSize) {
    throw hostile(
      file,
      `stored zip entry "${e.name}" declares ${e.uncompressedSize} bytes but holds ${e.compressedSize}`,
    );
  }
  if (
    e.uncompressedSize >= limits.ratioFloorBytes &&
    e.uncompressedSize > e.compressedSize * limits.maxCompressionRatio
  ) {
    const ratio = e.compressedSize === 0 ? 'infinite' : `${Math.round(e.uncompressedSize / e.compressedSize)}:1`;
    throw unsafe(
      file,
      `${file}: zip entry "${e.name}" declares ${e.uncompressedSize} bytes from ${e.compressedSize} compressed (ratio ${ratio}, limit ${limits.maxCompressionRatio}:1): zip bomb refused`,
    );
  }
}

/** Step 4: every central-directory record, and nothing else in the directory. */
function parseCentralDirectory(cd: Buffer, dir: DirectoryLocation, limits: ZipLimits, file: string): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const seen = new Map<string, string>();
  let pos = 0;
  let totalUncompressed = 0;
  for (let i = 0; i < dir.count; i++) {
    const at = dir.offset + pos;
    const { entry, end } = readCentralRecord(cd, pos, i, at, file);
    const folded = entry.name.toLowerCase();
    const prior = seen.get(folded);
    if (prior !== undefined) {
      throw hostile(
        file,
        `zip has two entries named "${prior}"${prior === entry.name ? '' : ` and "${entry.name}"`} (the second at byte ${at}); which one a reader uses is ambiguous`,
      );
    }
    seen.set(folded, entry.name);
    checkEntry(entry, limits, file);
    totalUncompressed += entry.uncompressedSize;
    if (totalUncompressed > limits.maxTotalUncompressedBytes) {
      throw unsafe(
        file,
        `${file}: zip entries declare more than ${limits.maxTotalUncompressedBytes} bytes uncompressed in total (limit limits.max_checkpoint_uncompressed_bytes): zip bomb refused`,
      );
    }
    entries.push(entry);
    pos = end;
  }
  if (pos !== cd.length) {
    throw hostile(
      file,
      `zip central directory holds ${cd.length - pos} bytes at byte ${dir.offset + pos} beyond its ${dir.count} declared entries (a hidden directory)`,
    );
  }
  return entries;
}

/**
 * Step 5: the entries, in file order, lie end to end from byte 0 to the central directory, and
 * each local header agrees with its central record. Returns where each entry's data starts.
 */
async function checkLocalLayout(
  read: ReadAt,
  entries: readonly ZipEntry[],
  cdOffset: number,
  file: string,
): Promise<Map<ZipEntry, number>> {
  const starts = new Map<ZipEntry, number>();
  const sorted = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.localHeaderOffset - b.e.localHeaderOffset || a.i - b.i)
    .map((x) => x.e);
  // Local headers are read a batch at a time (in parallel), then checked in file order, so the
  // first problem in the file is the one reported.
  const BATCH = 64;
  let batch: PromiseSettledResult<{ start: number; end: number }>[] = [];
  let expected = 0;
  let previous: ZipEntry | null = null;
  for (const [k, e] of sorted.entries()) {
    if (k % BATCH === 0)
      batch = await Promise.allSettled(sorted.slice(k, k + BATCH).map((x) => readLocalHeader(read, x, cdOffset, file)));
    if (e.localHeaderOffset < expected) {
      throw hostile(
        file,
        `zip entry "${e.name}" at byte ${e.localHeaderOffset} overlaps entry "${previous!.name}" (which ends at byte ${expected})`,
      );
    }
    if (e.localHeaderOffset > expected) {
      throw hostile(
        file,
        previous
          ? `zip has ${e.localHeaderOffset - expected} unaccounted bytes at byte ${expected}, between entries "${previous.name}" and "${e.name}" (hidden data)`
          : `zip has ${e.localHeaderOffset} bytes of prepended data before its first entry "${e.name}" at byte ${e.localHeaderOffset}`,
      );
    }
    const header = batch[k % BATCH]!;
    if (header.status === 'rejected') throw header.reason;
    const { start, end } = header.value;
    starts.set(e, start);
    expected = end;
    previous = e;
  }
  if (expected > cdOffset)
    throw hostile(file, `zip entry "${previous!.name}" runs into the central directory at byte ${cdOffset}`);
  if (expected < cdOffset) {
    throw hostile(
      file,
      `zip has ${cdOffset - expected} unaccounted bytes at byte ${expected}, ${previous ? `after its last entry "${previous.name}"` : 'where entries would be'} and before the central directory (hidden data)`,
    );
  }
  return starts;
}

/** One local header (and data descriptor) checked against its central record: where its data starts and where the entry ends. */
async function readLocalHeader(
  read: ReadAt,
  e: ZipEntry,
  cdOffset: number,
  file: string,
): Promise<{ start: number; end: number }> {
  const at = e.localHeaderOffset;
  const mismatch = (what: string) =>
    hostile(
      file,
      `zip entry "${e.name}" (local header at byte ${at}): local header and central directory disagree about the ${what}`,
    );
  if (at + LOCAL_BYTES > cdOffset)
    throw mismatch('entry position (no room for a local header before the central directory)');
  const h = await read(at, LOCAL_BYTES);
  if (h.readUInt32LE(0) !== SIG_LOCAL) throw mismatch('entry position (no local header there)');
  const flags = h.readUInt16LE(6);
  const method = h.readUInt16LE(8);
  const nameLen = h.readUInt16LE(26);
  const extraLen = h.readUInt16LE(28);
  const start = at + LOCAL_BYTES + nameLen + extraLen;
  if (start > cdOffset) throw mismatch('entry position (its header runs into the central directory)');
  const rest = await read(at + LOCAL_BYTES, nameLen + extraLen);
  const localName = rest.subarray(0, nameLen);
  if (!localName.equals(Buffer.from(e.name, 'utf8')))
    throw mismatch(`name ("${localName.toString('utf8')}" vs "${e.name}")`);
  if (method !== e.method) throw mismatch(`compression method (${method} vs ${e.method})`);
  if (flags !== e.flags) throw mismatch(`flags (0x${flags.toString(16)} vs 0x${e.flags.toString(16)})`);
  const z = zip64Extra(rest.subarray(nameLen));
  let crc = h.readUInt32LE(14);
  let csize = h.readUInt32LE(18);
  let usize = h.readUInt32LE(22);
  if (z && (usize === U32_MAX || csize === U32_MAX) && z.length >= 16) {
    usize = u64(z, 0, 'uncompressed size', file);
    csize = u64(z, 8, 'compressed size', file);
  }
  const dataEnd = start + e.compressedSize;
  if (dataEnd > cdOffset)
    throw hostile(
      file,
      `zip entry "${e.name}" data (from byte ${start}) runs into the central directory at byte ${cdOffset}`,
    );
  // With a data descriptor the local fields may be zero; otherwise they must agree.
  const deferred = (flags & FLAG_DESCRIPTOR) !== 0 && crc === 0 && csize === 0 && usize === 0;
  if (!deferred) {
    if (csize !== e.compressedSize || usize !== e.uncompressedSize)
      throw mismatch(`sizes (${csize}/${usize} vs ${e.compressedSize}/${e.uncompressedSize})`);
    if (crc !== e.crc32) throw mismatch('CRC-32');
  }
  if ((flags & FLAG_DESCRIPTOR) === 0) return { start, end: dataEnd };
  // The data descriptor after the data: optional signature, CRC, then 4- or 8-byte sizes.
  const wide = z !== null;
  const d = await read(dataEnd, Math.min(wide ? 24 : 16, cdOffset - dataEnd));
  const o = d.length >= 4 && d.readUInt32LE(0) === SIG_DESCRIPTOR ? 4 : 0;
  const len = o + (wide ? 20 : 12);
  if (d.length < len) throw mismatch(`data descriptor (missing at byte ${dataEnd})`);
  crc = d.readUInt32LE(o);
  csize = wide ? u64(d, o + 4, 'compressed size', file) : d.readUInt32LE(o + 4);
  usize = wide ? u64(d, o + 12, 'uncompressed size', file) : d.readUInt32LE(o + 8);
  if (crc !== e.crc32 || csize !== e.compressedSize || usize !== e.uncompressedSize)
    throw mismatch(`data descriptor at byte ${dataEnd} (CRC or sizes)`);
  return { start, end: dataEnd + len };
}

export class ZipReader {
  readonly entries: readonly ZipEntry[];
  private readonly byName: Map<string, ZipEntry>;
  /** Where each entry's data starts (local headers are checked when the archive is opened). */
  private readonly starts: Map<ZipEntry, number>;
  /** Bytes read from the file so far (for the benchmark and tests: proves data was not read). */
  bytesRead = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly file: string,
  ) {
    this.entries = [];
    this.byName = new Map();
    this.starts = new Map();
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  private async read(position: number, length: number): Promise<Buffer> {
    if (position < 0 || length < 0 || position + length > this.size) {
      throw new GateError(
        'PARSE_ERROR',
        `${this.file}: zip archive is truncated (needs bytes ${position}..${position + length}, file has ${this.size})`,
        { file: this.file },
      );
    }
    const buf = Buffer.alloc(length);
    let off = 0;
    while (off < length) {
      const { bytesRead } = await this.handle.read(buf, off, length - off, position + off);
      if (bytesRead === 0)
        throw new GateError('PARSE_ERROR', `${this.file}: zip archive is truncated`, { file: this.file });
      off += bytesRead;
    }
    this.bytesRead += length;
    return buf;
  }

  /** Opens an archive, refusing it unless it can be read in exactly one way (see the file comment). */
  static async open(
    handle: FileHandle,
    size: number,
    file: string,
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  ): Promise<ZipReader> {
    const zip = new ZipReader(handle, size, file);
    const read: ReadAt = (position, length) => zip.read(position, length);
    if (size < EOCD_BYTES) throw notZip(file, `${size} bytes is too short for a zip`);
    // Most archives have no comment: look at the last bytes first, then at the whole window an
    // end record with a comment can be in.
    let tailLen = Math.min(size, EOCD_BYTES + LOCATOR_BYTES + 64);
    let tail = await read(size - tailLen, tailLen);
    let eocd = findEndRecord(tail, size - tailLen, file, tailLen === size);
    if (eocd < 0) {
      tailLen = Math.min(size, EOCD_BYTES + U16_MAX + LOCATOR_BYTES);
      tail = await read(size - tailLen, tailLen);
      eocd = findEndRecord(tail, size - tailLen, file, true);
    }
    const tailStart = size - tailLen;
    const dir = await locateCentralDirectory(read, tail, tailStart, eocd, file);
    checkDirectoryLocation(dir, limits, file);
    const entries = parseCentralDirectory(await read(dir.offset, dir.size), dir, limits, file);
    const starts = await checkLocalLayout(read, entries, dir.offset, file);
    (zip.entries as ZipEntry[]).push(...entries);
    for (const e of entries) zip.byName.set(e.name, e);
    for (const [e, s] of starts) zip.starts.set(e, s);
    return zip;
  }

  /** Where an entry's data starts (its local header was checked against the directory at open). */
  async dataStart(e: ZipEntry): Promise<{ start: number }> {
    const start = this.starts.get(e);
    if (start === undefined)
      throw new GateError('INTERNAL', `${this.file}: "${e.name}" is not an entry of this archive`, { file: this.file });
    return { start };
  }

  /**
   * Reads a whole entry (inflating it if needed), refusing it if it is over `maxBytes`, if the
   * inflated size differs from the declared size, or if its CRC-32 is wrong.
   */
  async readEntry(e: ZipEntry, maxBytes: number): Promise<Buffer> {
    if (e.uncompressedSize > maxBytes) {
      throw new GateError(
        'TOO_LARGE',
        `${this.file}: zip entry "${e.name}" is ${e.uncompressedSize} bytes; the limit is ${maxBytes}`,
        { file: this.file },
      );
    }
    const { start } = await this.dataStart(e);
    const raw = await this.read(start, e.compressedSize);
    let data: Buffer;
    if (e.method === METHOD_STORED) data = raw;
    else if (e.method === METHOD_DEFLATE) data = inflateCapped(raw, e.uncompressedSize, e.name, this.file);
    else
      throw new GateError(
        'UNSUPPORTED_FORMAT',
        `${this.file}: zip entry "${e.name}" uses compression method ${e.method}; only stored and deflate are read`,
        { file: this.file },
      );
    if (crc32(data) !== e.crc32) {
      throw hostile(
        this.file,
        `zip entry "${e.name}" fails its CRC-32 check (content differs from what the directory declares)`,
      );
    }
    return data;
  }

  /**
   * Streams bytes [from, to) of a stored entry in chunks, reading only that range of the file.
   * Deflated entries are read whole (capped) and sliced.
   */
  async *streamRange(
    e: ZipEntry,
    from: number,
    to: number,
    chunk = 1024 * 1024,
    maxWholeBytes = 512 * 1024 * 1024,
  ): AsyncGenerator<Buffer> {
    if (from < 0 || to > e.uncompressedSize || from > to) {
      throw new GateError(
        'PARSE_ERROR',
        `${this.file}: bytes ${from}..${to} are outside zip entry "${e.name}" (${e.uncompressedSize} bytes)`,
        { file: this.file },
      );
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
    for (let p = 0; p < raw.length && !over; p += step)
      inf.push(raw.subarray(p, Math.min(raw.length, p + step)), p + step >= raw.length);
  } catch (err) {
    throw new GateError('PARSE_ERROR', `${file}: zip entry "${name}" is not valid deflate data`, { file, cause: err });
  }
  if (over || total !== declared) {
    throw hostile(
      file,
      `zip entry "${name}" declares ${declared} bytes but inflates to ${over ? `more than ${declared}` : total}`,
    );
  }
  return Buffer.concat(parts, total);
}
