/** Messages between the main thread and the inference worker (structured-clone friendly). */
import type { NdData, NpDtype } from '../testset/dtype.js';

export interface SessionSettings {
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. */
  intraOpThreads: number;
  interOpThreads?: number;
}

export interface LoadRequest {
  op: 'load';
  /** Absolute path of the inspected model inside the run (external data resolves next to it). */
  path: string;
  settings: SessionSettings;
}

export interface LoadResult {
  inputNames: string[];
  outputNames: string[];
  ortVersion: string;
  executionProvider: string;
  loadMs: number;
  /** worker_threads threadId of the thread that owns the session (never the main thread's 0). */
  threadId: number;
}

export interface Feed {
  inputName: string;
  dtype: NpDtype;
  dims: number[];
  data: NdData;
}

export interface RunRequest extends Feed {
  op: 'run';
  outputName: string;
}

export interface OutputTensor {
  dims: number[];
  /** Output converted to float32 (float16/float64/int outputs included). */
  data: Float32Array;
  type: string;
  /** The request's input buffer, transferred back so the caller can reuse it for the next batch. */
  input?: ArrayBuffer;
}

export interface LatencyRequest extends Feed {
  op: 'latency';
  warmup: number;
  /** Timed requests; with `durationMs`, the most that are made. */
  requests: number;
  /** Measure for this long instead of a fixed count (throughput runs; at least one request per lane). */
  durationMs?: number;
  /** In-flight requests at a time (1 = a plain sequential loop). */
  concurrency: number;
}

export interface LatencyRaw {
  /** Milliseconds per request, in completion order. */
  durations: Float64Array;
  /** Wall time of the timed part, ms. */
  elapsedMs: number;
}

export type WorkerRequest = (LoadRequest | RunRequest | LatencyRequest | { op: 'close' }) & { id: number };

export type WorkerMessage =
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; message: string }
  | { id: number; kind: 'progress'; done: number; total: number };
