/**
 * Main-thread handle on the inference worker. Requests are answered in order; several may be in
 * flight (the parity loop keeps the next batch queued while the current one runs). Aborting the
 * signal terminates the worker and rejects everything pending.
 *
 * A worker whose check ended cleanly is kept (one, unref'd, session released) for the next heavy
 * check: starting a thread and loading onnxruntime costs ~0.1 s from dist/ and ~0.45 s from
 * source, which would otherwise be paid by every check.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { GateError } from '../errors.js';
import type { Feed, LatencyRaw, LoadResult, OutputTensor, SessionSettings, WorkerMessage } from './protocol.js';

// From source (vitest, tsx) the worker is a .ts file and needs tsx; from dist/ it is plain .js.
// Node 20 does not apply `--import tsx` from a worker's execArgv to the worker's entry module,
// so from source a one-line bootstrap loads the entry through tsx's tsImport API.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './inference-worker.ts' : './inference-worker.js', import.meta.url);

/** Starts a worker thread on a module of this folder, from dist/ (.js) or from source (.ts, through tsx). */
export function spawnModuleWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!url.href.endsWith('.ts')) return new Worker(url, options);
  // require.resolve picks the "require" (.cjs) variant; the worker imports the ESM build next to it
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(url.href)}))`;
  return new Worker(boot, { ...options, eval: true });
}

function spawnWorker(): Worker {
  return spawnModuleWorker(WORKER_URL);
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: (done: number, total: number) => void;
}

function transferOf(data: ArrayBufferView): ArrayBuffer[] {
  const buf = data.buffer;
  // only transfer buffers the view owns entirely (a shared pool must not be detached)
  return buf instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buf.byteLength ? [buf] : [];
}

let idle: Worker | null = null;

function takeWorker(): Worker {
  const w = idle;
  if (w) {
    idle = null;
    w.ref();
    return w;
  }
  const fresh = spawnWorker();
  const forget = () => {
    if (idle === fresh) idle = null;
  };
  fresh.on('exit', forget);
  fresh.on('error', forget);
  return fresh;
}

export class OnnxWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: GateError | null = null;
  private readonly onAbort: () => void;
  private readonly onMessageBound = (m: WorkerMessage) => this.onMessage(m);
  private readonly onError = (err: Error) =>
    this.fail(new GateError('INTERNAL', `inference worker crashed: ${err.message}`, { cause: err }));
  private readonly onExit = (code: number) =>
    this.fail(new GateError('INTERNAL', `inference worker exited (code ${code})`));
  private crashed = false;

  private constructor(private readonly signal?: AbortSignal) {
    this.worker = takeWorker();
    this.worker.on('message', this.onMessageBound);
    this.worker.on('error', this.onError);
    this.worker.on('exit', this.onExit);
    this.onAbort = () => {
      this.fail(new GateError('CANCELLED', 'check cancelled; the inference worker was stopped'));
      void this.worker.terminate();
    };
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  static start(signal?: AbortSignal): OnnxWorker {
    if (signal?.aborted) throw new GateError('CANCELLED', 'check cancelled before it started');
    return new OnnxWorker(signal);
  }

  private onMessage(m: WorkerMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'progress') {
      p.onProgress?.(m.done, m.total);
      return;
    }
    this.pending.delete(m.id);
    if (m.kind === 'result') p.resolve(m.result);
    else p.reject(new GateError('INTERNAL', `onnxruntime: ${m.message}`));
  }

  private fail(err: GateError): void {
    this.crashed = true;
    if (!this.failure) this.failure = err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private request<T>(
    msg: Record<string, unknown>,
    transfer: ArrayBuffer[] = [],
    onProgress?: Pending['onProgress'],
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { resolve: resolve as (v: unknown) => void, reject };
      if (onProgress) p.onProgress = onProgress;
      this.pending.set(id, p);
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /**
   * Creates the session from the inspected model's resolved path inside the run (never from
   * bytes: onnxruntime would resolve relative external-data locations against the working directory).
   */
  load(source: { path: string }, settings: SessionSettings): Promise<LoadResult> {
    return this.request({ op: 'load', path: source.path, settings });
  }

  /** Runs one batch; the input data is transferred (do not reuse it). */
  run(feed: Feed, outputName: string): Promise<OutputTensor> {
    return this.request({ op: 'run', ...feed, outputName }, transferOf(feed.data));
  }

  latency(
    feed: Feed,
    opts: { warmup: number; requests: number; concurrency: number; durationMs?: number },
    onProgress?: (done: number, total: number) => void,
  ): Promise<LatencyRaw> {
    return this.request({ op: 'latency', ...feed, ...opts }, [], onProgress);
  }

  /** Releases the session; a healthy worker is kept for the next check, a failed one is terminated. */
  async close(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    let reusable = !this.crashed && !this.signal?.aborted;
    if (reusable) {
      reusable = await this.request({ op: 'close' }).then(
        () => true,
        () => false,
      );
    }
    this.failure ??= new GateError('INTERNAL', 'inference worker closed');
    this.worker.off('message', this.onMessageBound);
    this.worker.off('error', this.onError);
    this.worker.off('exit', this.onExit);
    if (reusable && this.pending.size === 0 && idle === null) {
      this.worker.unref();
      idle = this.worker;
      return;
    }
    await this.worker.terminate();
  }
}
