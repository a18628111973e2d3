import type { FileHandle } from 'node:fs/promises';

async function readAt(handle: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await handle.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

function readVarint(buf: Buffer, off: number): { value: number; next: number } | null {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[off + i];
    if (b === undefined) return null;
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return { value, next: off + i + 1 };
  }
  return null;
}

/** ModelProto's field numbers (onnx.proto3) and the wire type each must have. */
const MODEL_FIELDS: Record<number, number> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2 };

export interface OnnxSniff {
  ok: boolean;
  reason?: string;
  irVersion?: number;
  hasGraph?: boolean;
  opsetImports?: number;
}

/**
 * Walks the top level of an ONNX ModelProto through the file handle, reading only tags and
 * lengths (never the graph): every field must be a ModelProto field with the right wire type,
 * lengths must end exactly at the end of the file, and a graph and ir_version must be there.
 */
export async function sniffOnnx(handle: FileHandle, size: number): Promise<OnnxSniff> {
  let pos = 0;
  let irVersion: number | undefined;
  let hasGraph = false;
  let opsetImports = 0;
  let fields = 0;
  while (pos < size) {
    if (++fields > 100_000) return { ok: false, reason: 'too many top-level fields' };
    const head = await readAt(handle, pos, 32);
    const tag = readVarint(head, 0);
    if (!tag) return { ok: false, reason: `bad field tag at byte ${pos}` };
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (MODEL_FIELDS[field] !== wire) return { ok: false, reason: `byte ${pos}: field ${field} wire type ${wire} is not part of an ONNX ModelProto` };
    if (wire === 0) {
      const v = readVarint(head, tag.next);
      if (!v) return { ok: false, reason: `truncated varint at byte ${pos}` };
      if (field === 1) irVersion = v.value;
      pos += v.next;
    } else {
      const len = readVarint(head, tag.next);
      if (!len) return { ok: false, reason: `truncated length at byte ${pos}` };
      const end = pos + len.next + len.value;
      if (end > size) return { ok: false, reason: `field ${field} at byte ${pos} claims ${len.value} bytes, past the end of the file (truncated?)` };
      if (field === 7) hasGraph = true;
      if (field === 8) opsetImports++;
      pos = end;
    }
  }
  if (irVersion === undefined) return { ok: false, reason: 'no ir_version field' };
  if (!hasGraph) return { ok: false, reason: 'no graph' };
  return { ok: true, irVersion, hasGraph, opsetImports };
}

export interface ZipSniff {
  ok: boolean;
  reason?: string;
  names?: string[];
}

/**
 * Lists a zip's entry names from its central directory (bounded), reading only the tail of the
 * file. Enough to tell a TorchScript archive (code/, constants.pkl) from a state-dict save.
 */
export async function sniffZipNames(handle: FileHandle, size: number, maxEntries = 100_000): Promise<ZipSniff> {
  const lead = await readAt(handle, 0, 4);
  if (lead.readUInt32LE(0) !== 0x04034b50) return { ok: false, reason: 'not a zip archive (no local header signature)' };
  const tailLen = Math.min(size, 65_557);
  const tail = await readAt(handle, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return { ok: false, reason: 'no end-of-central-directory record (truncated zip?)' };
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    // ZIP64: the locator sits just before the EOCD record.
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) return { ok: false, reason: 'ZIP64 archive without a locator' };
    const rec = Number(tail.readBigUInt64LE(loc + 8));
    const z64 = await readAt(handle, rec, 56);
    if (z64.length < 56 || z64.readUInt32LE(0) !== 0x06064b50) return { ok: false, reason: 'bad ZIP64 end record' };
    count = Number(z64.readBigUInt64LE(32));
    cdSize = Number(z64.readBigUInt64LE(40));
    cdOffset = Number(z64.readBigUInt64LE(48));
  }
  if (count > maxEntries) return { ok: false, reason: `${count} entries (cap ${maxEntries})` };
  if (cdOffset + cdSize > size || cdSize > 64 * 1024 * 1024) return { ok: false, reason: 'central directory outside the file' };
  const cd = await readAt(handle, cdOffset, cdSize);
  const names: string[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + 46 > cd.length || cd.readUInt32LE(off) !== 0x02014b50) return { ok: false, reason: `bad central directory entry ${i}` };
    const nameLen = cd.readUInt16LE(off + 28);
    const extraLen = cd.readUInt16LE(off + 30);
    const commentLen = cd.readUInt16LE(off + 32);
    names.push(cd.toString('utf8', off + 46, off + 46 + nameLen));
    off += 46 + nameLen + extraLen + commentLen;
  }
  return { ok: true, names };
}
