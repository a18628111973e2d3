/**
 * Shared by export.parity and export.inference: find the export, inspect it, start the worker
 * and load the session, and match the model's input against the test set.
 */
import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { canFeed, formatShape, type NdArray, type NpDtype } from '../testset/index.js';
import { describeModel, inspectOnnxFile, type OnnxInspection, onnxLimits, type ValueInfo } from './inspect.js';
import type { LoadResult } from './protocol.js';
import { OnnxWorker } from './worker-client.js';

export const TORCHSCRIPT_REMEDIATION =
  'Export to ONNX, opset ≥ 13 (torch.onnx.export with a dynamic batch axis), then rerun the gate.';

export type ExportLocation = { kind: 'onnx'; rel: string } | { kind: 'torchscript'; rel: string } | { kind: 'none' };

export async function locateExport(run: RunArtifacts, policy: Policy): Promise<ExportLocation> {
  if (await run.exists(policy.paths.onnx_model)) return { kind: 'onnx', rel: policy.paths.onnx_model };
  if (await run.exists(policy.paths.torchscript_model))
    return { kind: 'torchscript', rel: policy.paths.torchscript_model };
  return { kind: 'none' };
}

export interface OpenModel {
  info: OnnxInspection;
  worker: OnnxWorker;
  session: LoadResult;
  input: ValueInfo & { npDtype: NpDtype };
  output: ValueInfo;
  evidence: string[];
}

const NP_DTYPES: readonly string[] = ['float32', 'float16', 'float64', 'int64', 'int32', 'uint8'];

/** Inspects the ONNX file (no onnxruntime call before this passes), then loads it in a worker. */
export async function openModel(
  run: RunArtifacts,
  rel: string,
  policy: Policy,
  signal?: AbortSignal,
): Promise<OpenModel> {
  const loaded = await inspectOnnxFile(run, rel, onnxLimits(policy), signal ? { signal } : {});
  const { info } = loaded;
  if (info.inputs.length !== 1) {
    throw new GateError(
      'UNSUPPORTED_FORMAT',
      `${rel} has ${info.inputs.length} inputs (${info.inputs.map((i) => i.name).join(', ')}); the gate feeds single-input models`,
      {
        file: rel,
      },
    );
  }
  const input = info.inputs[0] as ValueInfo;
  const output = info.outputs[0] as ValueInfo;
  if (!NP_DTYPES.includes(input.dtype)) {
    throw new GateError(
      'UNSUPPORTED_FORMAT',
      `${rel}: input "${input.name}" is ${input.dtype}; supported input types are ${NP_DTYPES.join(', ')}`,
      { file: rel },
    );
  }
  const worker = OnnxWorker.start(signal);
  try {
    // Always by its resolved path inside the run: relative external-data locations then resolve
    // next to the model (onnxruntime resolves them against the working directory for bytes).
    const session = await worker
      .load({ path: loaded.absolutePath }, { intraOpThreads: policy.latency.intra_op_threads })
      .catch((err: unknown) => {
        // inspection passed, so this is a graph onnxruntime rejects (unknown op, bad types): a broken export
        if (signal?.aborted) throw err;
        throw new GateError(
          'PARSE_ERROR',
          `${rel} does not load in onnxruntime-node: ${err instanceof Error ? err.message.replace(/^onnxruntime: /, '') : String(err)}`,
          {
            file: rel,
            cause: err,
          },
        );
      });
    return {
      info,
      worker,
      session,
      input: { ...input, npDtype: input.dtype as NpDtype },
      output,
      evidence: [
        describeModel(info),
        `loaded in onnxruntime-node ${session.ortVersion} (${session.executionProvider} execution provider) in ${Math.round(session.loadMs)} ms, in a worker thread`,
      ],
    };
  } catch (err) {
    await worker.close();
    throw err;
  }
}

/**
 * Checks the test inputs against the model input: rank, every static dimension, dtype.
 * Returns the batch size to use (the model's static batch, or `preferred`).
 */
export function matchInput(input: ValueInfo & { npDtype: NpDtype }, arr: NdArray, preferred: number): number {
  const modelShape = input.shape;
  const both = `test inputs ${arr.rel} have shape ${formatShape(arr.shape)} ${arr.dtype} but the model input "${input.name}" expects ${formatShape(modelShape)} ${input.dtype}`;
  if (modelShape.length > 0 && arr.shape.length !== modelShape.length) {
    throw new GateError('SHAPE_MISMATCH', `${both} (rank ${arr.shape.length} vs ${modelShape.length})`, {
      file: arr.rel,
    });
  }
  for (let k = 1; k < modelShape.length; k++) {
    const d = modelShape[k];
    if (typeof d === 'number' && d !== arr.shape[k]) {
      throw new GateError('SHAPE_MISMATCH', `${both} (dimension ${k}: ${arr.shape[k]} vs ${d})`, { file: arr.rel });
    }
  }
  if (!canFeed(arr.dtype, input.npDtype)) {
    throw new GateError(
      'SHAPE_MISMATCH',
      `${both}: ${arr.dtype} data cannot be fed to a ${input.dtype} input (raw integer pixels need the training preprocessing first)`,
      {
        file: arr.rel,
      },
    );
  }
  if (arr.rows === 0)
    throw new GateError('SHAPE_MISMATCH', `test inputs ${arr.rel} are empty (shape ${formatShape(arr.shape)})`, {
      file: arr.rel,
    });
  const b = modelShape[0];
  return typeof b === 'number' ? b : preferred;
}

/** Number of classes from a classifier output [batch, C], or null when it is not that shape. */
export function outputClasses(output: ValueInfo): number | null {
  if (output.shape.length !== 2) return null;
  const c = output.shape[1];
  return typeof c === 'number' ? c : null;
}
