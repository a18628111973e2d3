/**
 * Worker-thread entry that decodes untrusted ONNX models (decode.ts) under the V8 heap cap the
 * main thread set (resourceLimits): a model that needs more heap ends this thread with
 * ERR_WORKER_OUT_OF_MEMORY, never the process. One request at a time.
 */
import { parentPort } from 'node:worker_threads';
import { GateError } from '../errors.js';
import { decodeOnnx, initializerDigests, inspectDecoded } from './decode.js';
import type { DecodeReply, DecodeRequest } from './decode-client.js';

if (!parentPort) throw new Error('decode-worker must run in a worker thread');
const port = parentPort;

port.on('message', (req: DecodeRequest) => {
  let reply: DecodeReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const bytes = new Uint8Array(req.buffer);
    const { model, counts, functionDefaults } = decodeOnnx(bytes, req.rel, req.limits);
    const inspection = inspectDecoded(model, counts, req.rel, req.limits, functionDefaults);
    reply = { id: req.id, ok: true, inspection };
    if (req.weights) {
      reply.weights = initializerDigests(model);
      for (const w of reply.weights) if (w.values) transfer.push(w.values.buffer as ArrayBuffer);
    }
  } catch (err) {
    const e = err instanceof GateError ? err : null;
    reply = {
      id: req.id,
      ok: false,
      error: {
        code: e?.code ?? 'INTERNAL',
        message: err instanceof Error ? err.message : String(err),
        hostile: e?.hostile ?? false,
        ...(e?.file ? { file: e.file } : {}),
      },
    };
  }
  port.postMessage(reply, transfer);
});
