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
const MODEL_FIELDS: Record<number, number> = {
  1: 0,
  2: 2,
  3: 2,
  4: 2,
  5: 0,
  6: 2,
  7: 2,
  8: 2,
  14: 2,
  20: 2,
  25: 2,
  26: 2,
};

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
    if (MODEL_FIELDS[field] !== wire)
      return { ok: false, reason: `byte ${pos}: field ${field} wire type ${wire} is not part of an ONNX ModelProto` };
    if (wire === 0) {
      const v = readVarint(head, tag.next);
      if (!v) return { ok: false, reason: `truncated varint at byte ${pos}` };
      if (field === 1) irVersion = v.value;
      pos += v.next;
    } else {
      const len = readVarint(head, tag.next);
      if (!len) return { ok: false, reason: `truncated length at byte ${pos}` };
      const end = pos + len.next + len.value;
      if (end > size)
        return {
          ok: false,
          reason: `field ${field} at byte ${pos} claims ${len.value} bytes, past the end of the file (truncated?)`,
        };
      if (field === 7) hasGraph = true;
      if (field === 8) opsetImports++;
      pos = end;
    }
  }
  if (irVersion === undefined) return { ok: false, reason: 'no ir_version field' };
  if (!hasGraph) return { ok: false, reason: 'no graph' };
  return { ok: true, irVersion, hasGraph, opsetImports };
}
