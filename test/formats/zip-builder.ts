import { crc32 } from 'node:zlib';
import { deflateSync } from 'fflate';

/** One entry of a hand-built zip. */
export interface BuildEntry {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Already-compressed deflate data for `data`'s place: `data` is then ignored. */
  raw?: { compressed: Uint8Array; size: number; crc: number };
  /** Overrides written into the central directory only. */
  central?: { name?: string; usize?: number; crc?: number; offset?: number; flags?: number; method?: number };
  /** A declared uncompressed size written in both headers (a consistent lie). */
  declared?: number;
  /** Sizes and CRC in a data descriptor after the data (flag bit 3), zeros in the local header, as streaming writers do. */
  descriptor?: { signature: boolean; crc?: number };
}

export interface BuildOptions {
  /** Archive comment (after the end record). */
  comment?: Uint8Array;
  /** Bytes before the first entry; offsets are written as if they were not there unless `absolute`. */
  prepend?: Uint8Array;
  /** With `prepend`: offsets count the prepended bytes (as a self-extracting archive writes them). */
  absolute?: boolean;
  /** Bytes inserted after this many entries (a gap a second directory could hide in). */
  gapAfter?: { entries: number; bytes: Uint8Array };
  /** Bytes after the end record and comment. */
  trailing?: Uint8Array;
  /** Central-directory bytes appended beyond the declared entries. */
  centralExtra?: Uint8Array;
}

/** A minimal zip writer (no data descriptors, no ZIP64) whose records can be made to lie. */
export function buildZip(entries: BuildEntry[], opts: BuildOptions = {}): Buffer {
  const pre = opts.prepend ? Buffer.from(opts.prepend) : Buffer.alloc(0);
  const base = opts.absolute ? pre.length : 0;
  const parts: Buffer[] = [pre];
  const centrals: Buffer[] = [];
  let offset = 0;
  const gap = (i: number) => {
    if (opts.gapAfter && i === opts.gapAfter.entries) {
      parts.push(Buffer.from(opts.gapAfter.bytes));
      offset += opts.gapAfter.bytes.length;
    }
  };
  entries.forEach((e, i) => {
    gap(i);
    const at = offset;
    const name = Buffer.from(e.name, 'utf8');
    const body = Buffer.from(e.raw ? e.raw.compressed : e.deflate ? deflateSync(e.data) : e.data);
    const method = e.raw || e.deflate ? 8 : 0;
    const crc = e.raw ? e.raw.crc : crc32(e.data);
    const usize = e.raw ? e.raw.size : e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.descriptor ? 0x8 : 0, 6);
    local.writeUInt16LE(method, 8);
    if (!e.descriptor) {
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(e.declared ?? usize, 22);
    }
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    if (e.descriptor) {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(e.descriptor.crc ?? crc, 4);
      d.writeUInt32LE(body.length, 8);
      d.writeUInt32LE(e.declared ?? usize, 12);
      const written = e.descriptor.signature ? d : d.subarray(4);
      parts.push(written);
      offset += written.length;
    }
    offset += 30 + name.length + body.length;
    const cname = Buffer.from(e.central?.name ?? e.name, 'utf8');
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(e.central?.flags ?? (e.descriptor ? 0x8 : 0), 8);
    c.writeUInt16LE(e.central?.method ?? method, 10);
    c.writeUInt32LE(e.central?.crc ?? crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(e.central?.usize ?? e.declared ?? usize, 24);
    c.writeUInt16LE(cname.length, 28);
    c.writeUInt32LE(base + (e.central?.offset ?? at), 42);
    centrals.push(c, cname);
  });
  gap(entries.length);
  const cd = Buffer.concat([...centrals, Buffer.from(opts.centralExtra ?? [])]);
  const comment = Buffer.from(opts.comment ?? []);
  parts.push(
    cd,
    endRecord(entries.length, cd.length, base + offset, comment.length),
    comment,
    Buffer.from(opts.trailing ?? []),
  );
  return Buffer.concat(parts);
}

/** An end-of-central-directory record. */
export function endRecord(count: number, cdSize: number, cdOffset: number, commentLength: number): Buffer {
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  eocd.writeUInt16LE(commentLength, 20);
  return eocd;
}
