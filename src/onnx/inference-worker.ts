/**
 * Worker-thread entry: owns the onnxruntime session. session.run() blocks the thread it runs on,
 * so it never runs on the main event loop. Latency is timed here, around session.run alone.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, threadId } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type {
  Feed,
  LatencyRaw,
  LatencyRequest,
  LoadRequest,
  LoadResult,
  OutputTensor,
  RunRequest,
  WorkerMessage,
  WorkerRequest,
} from './protocol.js';

if (!parentPort) throw new Error('inference-worker must run in a worker thread');
const port = parentPort;
let session: ort.InferenceSession | null = null;

function post(msg: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function tensorOf(f: Feed): ort.Tensor {
  return new ort.Tensor(f.dtype, f.data as never, f.dims);
}

async function load(req: LoadRequest): Promise<LoadResult> {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (req.settings.intraOpThreads > 0) options.intraOpNumThreads = req.settings.intraOpThreads;
  if (req.settings.interOpThreads && req.settings.interOpThreads > 0)
    options.interOpNumThreads = req.settings.interOpThreads;
  const t0 = performance.now();
  session = await ort.InferenceSession.create(req.path, options);
  return {
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    ortVersion: ort.env.versions.node ?? ort.env.versions.common,
    executionProvider: 'cpu',
    loadMs: performance.now() - t0,
    threadId,
  };
}

function toFloat32(t: ort.Tensor): Float32Array {
  const d = t.data;
  // copy unless the array owns its whole buffer: the result is transferred to the main thread
  if (d instanceof Float32Array) return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? d : d.slice();
  if (t.type === 'float16' && d instanceof Uint16Array) {
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) {
      const h = d[i] as number;
      const e = (h >> 10) & 0x1f;
      const f = h & 0x3ff;
      const s = h & 0x8000 ? -1 : 1;
      out[i] =
        e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? Number.NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
    }
    return out;
  }
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float32Array.from(d, (v) => Number(v));
  if (ArrayBuffer.isView(d)) return Float32Array.from(d as unknown as ArrayLike<number>);
  throw new Error(`output of type ${t.type} is not numeric`);
}

async function run(req: RunRequest): Promise<OutputTensor> {
  if (!session) throw new Error('no session loaded');
  const out = await session.run({ [req.inputName]: tensorOf(req) });
  const t = out[req.outputName];
  if (!t) throw new Error(`model produced no output "${req.outputName}"`);
  const result: OutputTensor = { dims: t.dims.map(Number), data: toFloat32(t), type: t.type };
  const buf = req.data.buffer;
  if (buf instanceof ArrayBuffer && req.data.byteOffset === 0) result.input = buf;
  return result;
}

async function latency(id: number, req: LatencyRequest): Promise<LatencyRaw> {
  const s = session;
  if (!s) throw new Error('no session loaded');
  const feeds = { [req.inputName]: tensorOf(req) };
  for (let i = 0; i < req.warmup; i++) await s.run(feeds);
  const timed = req.durationMs !== undefined && req.durationMs > 0;
  // a time-bounded run grows its array as it goes; a counted one knows its size
  let durations = new Float64Array(timed ? 1024 : req.requests);
  let next = 0;
  let done = 0;
  const every = Math.max(1, Math.floor(req.requests / 20));
  const start = performance.now();
  const deadline = timed ? start + (req.durationMs as number) : Infinity;
  const lane = async (): Promise<void> => {
    for (let own = 0; ; own++) {
      // a timed lane makes at least one request, then stops at the deadline
      if (next >= req.requests || (own > 0 && performance.now() >= deadline)) return;
      const i = next++;
      if (i >= durations.length) {
        const grown = new Float64Array(Math.min(req.requests, durations.length * 2));
        grown.set(durations);
        durations = grown;
      }
      const t0 = performance.now();
      await s.run(feeds);
      durations[i] = performance.now() - t0;
      done++;
      if (!timed && done % every === 0) post({ id, kind: 'progress', done, total: req.requests });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, req.concurrency) }, lane));
  const elapsedMs = performance.now() - start;
  return { durations: done === durations.length ? durations : durations.slice(0, done), elapsedMs };
}

port.on('message', (req: WorkerRequest) => {
  void (async () => {
    try {
      switch (req.op) {
        case 'load':
          post({ id: req.id, kind: 'result', result: await load(req) });
          break;
        case 'run': {
          const r = await run(req);
          post({ id: req.id, kind: 'result', result: r }, [
            r.data.buffer as ArrayBuffer,
            ...(r.input ? [r.input] : []),
          ]);
          break;
        }
        case 'latency': {
          const r = await latency(req.id, req);
          post({ id: req.id, kind: 'result', result: r }, [r.durations.buffer as ArrayBuffer]);
          break;
        }
        case 'close':
          await session?.release();
          session = null;
          post({ id: req.id, kind: 'result', result: null });
          break;
      }
    } catch (err) {
      post({ id: req.id, kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
