/**
 * Hostile artifacts built in code, shared by the tests and bench/hostile.bench.ts: a checkpoint
 * whose data.pkl is an integer bomb, and an .npz member that inflates to 1.75 GiB.
 */
import { crc32, deflateRawSync, constants as zc } from 'node:zlib';
import { npyHeader } from '../../src/testset/npy.js';
import { type BuildEntry, buildZip } from '../formats/zip-builder.js';

/**
 * A 59 MB data.pkl of huge LONG4 integers in a torch zip checkpoint: PROTO 2, [ MARK,
 * 14 400 × LONG4 of 4096 bytes, APPENDS, STOP. Each integer is under the per-integer limit;
 * their total is what gives the pickle away.
 */
export function integerBombPickle(): Buffer {
  const one = Buffer.alloc(5 + 4096, 0x7f);
  one[0] = 0x8b;
  one.writeInt32LE(4096, 1);
  return Buffer.concat([
    Buffer.from([0x80, 2, 0x5d, 0x28]),
    ...new Array<Buffer>(14_400).fill(one),
    Buffer.from([0x65, 0x2e]),
  ]);
}

export function integerBombCheckpoint(): Buffer {
  return buildZip([
    { name: 'bomb/data.pkl', data: integerBombPickle() },
    { name: 'bomb/version', data: Buffer.from('3\n') },
  ]);
}

/** Deflate data that can be repeated: full-flushed blocks, no dictionary carried between them. */
const flushed = (b: Uint8Array) => deflateRawSync(b, { finishFlush: zc.Z_FULL_FLUSH, level: 9 });
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);

export type DeflateBombEntry = BuildEntry & { raw: { compressed: Uint8Array; size: number; crc: number } };

let bombEntry: DeflateBombEntry | undefined;

/**
 * `inputs.npy` as a real deflate stream that inflates to 1.75 GiB: a float32 [448, 1024, 1024]
 * header, then 28 × 64 MiB of zeros (one full-flushed 64 MiB block repeated). Built once.
 */
export function deflateBombEntry(): DeflateBombEntry {
  if (bombEntry) return bombEntry;
  const zeros = new Uint8Array(64 * 1024 * 1024);
  const header = Buffer.from(npyHeader('float32', [448, 1024, 1024]));
  const chunk = flushed(zeros);
  const compressed = Buffer.concat([flushed(header), ...new Array<Buffer>(28).fill(chunk), FINAL_EMPTY_BLOCK]);
  let crc = crc32(header);
  for (let i = 0; i < 28; i++) crc = crc32(zeros, crc);
  const size = header.length + 28 * zeros.length;
  bombEntry = { name: 'inputs.npy', data: new Uint8Array(0), raw: { compressed, size, crc } };
  return bombEntry;
}
