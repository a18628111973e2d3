import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffOnnx } from '../../src/formats/sniff.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sniff-rules-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function sniff(bytes: number[] | Buffer) {
  const file = path.join(dir, `f${n++}.onnx`);
  const content = Buffer.from(bytes);
  await writeFile(file, content);
  const h = await open(file, 'r');
  try {
    return await sniffOnnx(h, content.length);
  } finally {
    await h.close();
  }
}

// field 1 (ir_version, varint) = 0x08, field 7 (graph, bytes) = 0x3a, field 5 (model_version, varint) = 0x28,
// field 2 (producer_name, bytes) = 0x12, field 8 (opset_import, bytes) = 0x42
describe('sniffOnnx: the top-level fields', () => {
  it('reads ir_version from field 1 only', async () => {
    expect(await sniff([0x28, 0x05, 0x3a, 0x00])).toEqual({ ok: false, reason: 'no ir_version field' });
    expect(await sniff([0x08, 0x08, 0x28, 0x03, 0x3a, 0x00])).toEqual({
      ok: true,
      irVersion: 8,
      hasGraph: true,
      opsetImports: 0,
    });
  });

  it('takes only field 7 for the graph, and counts the opset imports', async () => {
    expect(await sniff([0x08, 0x08, 0x12, 0x00])).toEqual({ ok: false, reason: 'no graph' });
    expect(await sniff([0x08, 0x08, 0x42, 0x01, 0x00, 0x3a, 0x00, 0x42, 0x00, 0x12, 0x02, 0x61, 0x62])).toEqual({
      ok: true,
      irVersion: 8,
      hasGraph: true,
      opsetImports: 2,
    });
  });

  it('reads multi-byte varints', async () => {
    // ir_version 300 = 0xac 0x02; a graph of 200 bytes (length 0xc8 0x01)
    const graph = [0x3a, 0xc8, 0x01, ...new Array(200).fill(0)];
    expect(await sniff([0x08, 0xac, 0x02, ...graph])).toEqual({
      ok: true,
      irVersion: 300,
      hasGraph: true,
      opsetImports: 0,
    });
  });

  it('names a tag cut short, a tag longer than ten bytes, a truncated varint and a truncated length', async () => {
    expect(await sniff([0x08, 0x08, 0x80])).toEqual({ ok: false, reason: 'bad field tag at byte 2' });
    // ten continuation bytes and a terminator: no varint is that long
    expect(await sniff([...new Array(10).fill(0x80), 0x00])).toEqual({ ok: false, reason: 'bad field tag at byte 0' });
    expect(await sniff([0x3a, 0x00, 0x08, 0x80])).toEqual({ ok: false, reason: 'truncated varint at byte 2' });
    expect(await sniff([0x08, 0x08, 0x3a, 0x80])).toEqual({ ok: false, reason: 'truncated length at byte 2' });
  });

  it('a length ending exactly at the end of the file is whole; one byte more is truncated', async () => {
    expect((await sniff([0x08, 0x08, 0x3a, 0x02, 0x00, 0x00])).ok).toBe(true);
    expect(await sniff([0x08, 0x08, 0x3a, 0x03, 0x00, 0x00])).toEqual({
      ok: false,
      reason: 'field 7 at byte 2 claims 3 bytes, past the end of the file (truncated?)',
    });
  });

  it('refuses a field with the wrong wire type, and a field no ModelProto has', async () => {
    expect(await sniff([0x0a, 0x00])).toEqual({
      ok: false,
      reason: 'byte 0: field 1 wire type 2 is not part of an ONNX ModelProto',
    });
    expect(await sniff([0x08, 0x08, 0x48, 0x00])).toEqual({
      ok: false,
      reason: 'byte 2: field 9 wire type 0 is not part of an ONNX ModelProto',
    });
  });

  it('reads up to 100 000 top-level fields and refuses one more', async () => {
    const fields = (count: number) =>
      Buffer.concat([Buffer.alloc((count - 1) * 2, Buffer.from([0x08, 0x00])), Buffer.from([0x3a, 0x00])]);
    expect(await sniff(fields(100_000))).toEqual({ ok: true, irVersion: 0, hasGraph: true, opsetImports: 0 });
    expect(await sniff(fields(100_001))).toEqual({ ok: false, reason: 'too many top-level fields' });
  });
});
