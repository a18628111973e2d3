/**
 * Main-thread side of ONNX decoding: the model's bytes are transferred (not copied) to a worker
 * thread with a V8 heap cap, which measures, decodes and checks them (decode-worker.ts). Running
 * out of that heap, or the caller's abort, ends the thread and rejects with a clear GateError;
 * the app's event loop never decodes untrusted protobuf and never runs out of heap doing so.
 * A thread that answered is kept (one, unref'd) for the next model with the same heap cap.
 */
import type { Worker } from 'node:worker_threads';
import { type ErrorCode, GateError } from '../errors.js';
import { type DecodedInspection, fullLimits, type InitializerDigest, type OnnxLimits } from './decode.js';
import { spawnModuleWorker } from './worker-client.js';

export interface DecodeRequest {
  id: number;
  buffer: ArrayBuffer;
  rel: string;
  limits: OnnxLimits;
  weights: boolean;
}

export type DecodeReply =
  | { id: number; ok: true; inspection: DecodedInspection; weights?: InitializerDigest[] }
  | { id: number; ok: false; error: { code: ErrorCode; message: string; hostile: boolean; file?: string } };

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './decode-worker.ts' : './decode-worker.js', import.meta.url);

let idle: { worker: Worker; heapMb: number } | null = null;
let nextId = 1;

function takeWorker(heapMb: number): Worker {
  if (idle && idle.heapMb === heapMb) {
    const w = idle.worker;
    idle = null;
    w.ref();
    return w;
  }
  if (idle) void idle.worker.terminate();
  idle = null;
  // the young generation stays small so the old-generation cap is what bounds the thread
  const worker = spawnModuleWorker(WORKER_URL, {
    resourceLimits: {
      maxOldGenerationSizeMb: heapMb,
      maxYoungGenerationSizeMb: Math.min(64, Math.max(8, heapMb / 8)),
      stackSizeMb: 4,
    },
  });
  worker.on('exit', () => {
    if (idle?.worker === worker) idle = null;
  });
  return worker;
}

/**
 * Decodes `bytes` (the whole model file; its buffer is transferred and unusable afterwards) in
 * the decode thread. `weights` also returns digests of the main graph's float initializers.
 */
export function decodeInWorker(
  bytes: Uint8Array,
  rel: string,
  limits: OnnxLimits,
  opts: { weights?: boolean; signal?: AbortSignal } = {},
): Promise<{ inspection: DecodedInspection; weights?: InitializerDigest[] }> {
  const full = fullLimits(limits);
  if (opts.signal?.aborted)
    return Promise.reject(new GateError('CANCELLED', 'check cancelled before decoding the model'));
  // transfer needs a buffer the view owns entirely
  const owned =
    bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ? bytes
      : bytes.slice();
  const worker = takeWorker(full.heapMb);
  const id = nextId++;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void, keep: boolean): void => {
      if (settled) return;
      settled = true;
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      opts.signal?.removeEventListener('abort', onAbort);
      if (keep && idle === null) {
        worker.unref();
        idle = { worker, heapMb: full.heapMb };
      } else void worker.terminate();
      fn();
    };
    const onMessage = (m: DecodeReply): void => {
      if (m.id !== id) return;
      if (m.ok) {
        const out: { inspection: DecodedInspection; weights?: InitializerDigest[] } = { inspection: m.inspection };
        if (m.weights) out.weights = m.weights;
        done(() => resolve(out), true);
      } else {
        const e = m.error;
        done(
          () => reject(new GateError(e.code, e.message, { hostile: e.hostile, ...(e.file ? { file: e.file } : {}) })),
          true,
        );
      }
    };
    const onError = (err: Error & { code?: string }): void => {
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const message = oom
        ? `${rel}: decoding the model needed more than its ${full.heapMb} MB heap (limits.onnx_decode_heap_mb); stopped, nothing of it was loaded in onnxruntime`
        : `${rel}: the ONNX decoder crashed: ${err.message}`;
      done(() => reject(new GateError(oom ? 'TOO_LARGE' : 'INTERNAL', message, { file: rel, cause: err })), false);
    };
    const onExit = (code: number): void =>
      done(
        () =>
          reject(
            new GateError('INTERNAL', `${rel}: the ONNX decode thread exited (code ${code}) without an answer`, {
              file: rel,
            }),
          ),
        false,
      );
    const onAbort = (): void =>
      done(() => reject(new GateError('CANCELLED', 'check cancelled; the ONNX decode thread was stopped')), false);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const req: DecodeRequest = {
      id,
      buffer: owned.buffer as ArrayBuffer,
      rel,
      limits: full,
      weights: opts.weights ?? false,
    };
    worker.postMessage(req, [owned.buffer as ArrayBuffer]);
  });
}
