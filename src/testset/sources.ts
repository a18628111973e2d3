import type { FileHandle } from 'node:fs/promises';
import { Inflate } from 'fflate';
import { GateError } from '../errors.js';
import type { ByteSource } from './npy.js';

function outputBuffer(length: number, into?: ArrayBuffer): Uint8Array {
  return into && into.byteLength >= length ? new Uint8Array(into, 0, length) : new Uint8Array(length);
}

/** Random access to `size` bytes of a file starting at `base`. */
export class FileRangeSource implements ByteSource {
  constructor(
    private readonly handle: FileHandle,
    private readonly base: number,
    readonly size: number,
    private readonly rel: string,
    private readonly ownsHandle = true,
  ) {}

  async read(offset: number, length: number, into?: ArrayBuffer): Promise<Uint8Array> {
    if (offset < 0 || offset + length > this.size) {
      throw new GateError('PARSE_ERROR', `${this.rel}: read past the end (${offset}+${length} > ${this.size})`, {
        file: this.rel,
      });
    }
    const buf = outputBuffer(length, into);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, this.base + offset + done);
      if (bytesRead === 0)
        throw new GateError('PARSE_ERROR', `${this.rel} is truncated (file shrank while reading)`, { file: this.rel });
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    if (this.ownsHandle) await this.handle.close();
  }
}

/** Compressed bytes fed to the inflater per step: bounds the output of one step (≈1032× at most). */
const COMPRESSED_STEP = 16 * 1024;

/**
 * Sequential reads of a deflated zip entry, inflated on the fly with fflate's streaming Inflate:
 * memory stays at one requested range plus one step's output. Reading backwards restarts the
 * stream. Output beyond the entry's declared size is a zip bomb and refused.
 */
export class InflateSource implements ByteSource {
  private inflater!: Inflate;
  private compressedPos = 0;
  /** Uncompressed offset of the first byte in `pending`. */
  private pos = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private produced = 0;
  private ended = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly base: number,
    private readonly compressedSize: number,
    readonly size: number,
    private readonly rel: string,
  ) {
    this.reset();
  }

  private reset(): void {
    this.inflater = new Inflate((chunk) => {
      this.produced += chunk.length;
      if (this.produced > this.size) {
        throw new GateError(
          'UNSAFE_ARTIFACT',
          `${this.rel} inflates to more than its declared ${this.size} bytes (zip bomb); refused`,
          {
            file: this.rel,
            hostile: true,
          },
        );
      }
      if (chunk.length > 0) {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
      }
    });
    this.compressedPos = 0;
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.produced = 0;
    this.ended = false;
  }

  private async step(): Promise<void> {
    if (this.ended) {
      throw new GateError('PARSE_ERROR', `${this.rel} ends after ${this.produced} bytes but declares ${this.size}`, {
        file: this.rel,
      });
    }
    const n = Math.min(COMPRESSED_STEP, this.compressedSize - this.compressedPos);
    const buf = new Uint8Array(n); // fresh: fflate may keep a reference to the pushed chunk
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.handle.read(buf, done, n - done, this.base + this.compressedPos + done);
      if (bytesRead === 0) throw new GateError('PARSE_ERROR', `${this.rel} is truncated`, { file: this.rel });
      done += bytesRead;
    }
    this.compressedPos += n;
    const final = this.compressedPos >= this.compressedSize;
    try {
      this.inflater.push(buf, final);
    } catch (err) {
      if (err instanceof GateError) throw err;
      throw new GateError('PARSE_ERROR', `${this.rel}: corrupt deflate stream (${(err as Error).message})`, {
        file: this.rel,
        cause: err,
      });
    }
    if (final) this.ended = true;
  }

  /** Drops `n` buffered bytes from the front. */
  private drop(n: number): void {
    while (n > 0) {
      const first = this.pending[0] as Uint8Array;
      if (first.length <= n) {
        this.pending.shift();
        n -= first.length;
        this.pendingBytes -= first.length;
        this.pos += first.length;
      } else {
        this.pending[0] = first.subarray(n);
        this.pendingBytes -= n;
        this.pos += n;
        n = 0;
      }
    }
  }

  async read(offset: number, length: number, into?: ArrayBuffer): Promise<Uint8Array> {
    if (offset < 0 || offset + length > this.size) {
      throw new GateError('PARSE_ERROR', `${this.rel}: read past the end (${offset}+${length} > ${this.size})`, {
        file: this.rel,
      });
    }
    if (offset < this.pos) this.reset();
    // skip forward
    while (this.pos + this.pendingBytes < offset) {
      this.drop(this.pendingBytes);
      await this.step();
    }
    this.drop(offset - this.pos);
    while (this.pendingBytes < length) await this.step();
    const out = outputBuffer(length, into);
    let done = 0;
    while (done < length) {
      const first = this.pending[0] as Uint8Array;
      const take = Math.min(first.length, length - done);
      out.set(first.subarray(0, take), done);
      done += take;
      this.drop(take);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
