import type { RunArtifacts } from '../artifacts/run.js';
import { Checkpoint, type CheckpointLimits, walkTensors } from './reader.js';
import { asNumber, type PickleKey, type PickleValue, TensorMeta } from './values.js';

/** BatchNorm buffers are state, not parameters (matches "N parameters" as PyTorch users count it). */
const BUFFER_SUFFIX = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

export interface FoundNumber {
  value: number;
  /** Dotted key path inside the checkpoint, e.g. "val_acc" or "metrics.val_acc". */
  key: string;
}

export interface CheckpointSummary {
  file: string;
  bytes: number;
  /** Bytes read to decode the metadata (directory + data.pkl, never tensor data). */
  bytesRead: number;
  prefix: string;
  /** Zip entries (all checked: one end record, laid end to end, torch.save records only). */
  entries: number;
  protocol: number;
  topLevelKeys: string[];
  /** The state dict's key and its tensors in saved order; null when absent or not a dict of tensors. */
  stateDict: { key: string; tensors: [string, TensorMeta][] } | null;
  /** Why model_state_dict is not usable, when it is present but wrong. */
  stateDictProblem: string | null;
  parameters: number;
  tensorCount: number;
  epoch: FoundNumber | null;
  valAcc: FoundNumber | null;
  /** Last 2-D weight of the state dict (the classifier): its name and output count. */
  finalLayer: { name: string; shape: readonly number[]; classes: number } | null;
  globals: string[];
}

const EPOCH_PATHS = [['epoch'], ['best_epoch'], ['metrics', 'epoch'], ['metrics', 'best_epoch']];
const VAL_ACC_PATHS = [
  ['val_acc'],
  ['val_accuracy'],
  ['best_val_acc'],
  ['best_val_accuracy'],
  ['metrics', 'val_acc'],
  ['metrics', 'val_accuracy'],
  ['metrics', 'best_val_acc'],
  ['metrics', 'val', 'acc'],
  ['metrics', 'val', 'accuracy'],
  ['val_metrics', 'acc'],
  ['val_metrics', 'accuracy'],
];

function at(v: PickleValue, path: readonly string[]): PickleValue | undefined {
  let cur: PickleValue | undefined = v;
  for (const k of path) {
    if (!(cur instanceof Map)) return undefined;
    cur = cur.get(k);
  }
  return cur;
}

async function findNumberAt(ckpt: Checkpoint, paths: readonly string[][]): Promise<FoundNumber | null> {
  for (const p of paths) {
    const v = at(ckpt.data, p);
    if (v === undefined || v === null) continue;
    let n = asNumber(v);
    // A one-element tensor (torch.tensor(17), a val_acc left as a tensor) is read from its storage.
    if (n === null && v instanceof TensorMeta && v.numel === 1 && v.dtype !== 'bool')
      n = asNumber((await ckpt.readScalar(v)) as PickleValue);
    if (n !== null && Number.isFinite(n)) return { value: n, key: p.join('.') };
  }
  return null;
}

function keyName(k: PickleKey): string {
  return typeof k === 'string' ? k : String(k);
}

/** Summarises an open checkpoint: reads only metadata (and one-element tensors for epoch/val_acc). */
export async function summarizeCheckpoint(ckpt: Checkpoint): Promise<CheckpointSummary> {
  const data = ckpt.data;
  const topLevelKeys = data instanceof Map ? [...data.keys()].map(keyName) : [];
  let stateDict: CheckpointSummary['stateDict'] = null;
  let stateDictProblem: string | null = null;
  const sd = at(data, ['model_state_dict']);
  if (sd !== undefined) {
    if (!(sd instanceof Map)) stateDictProblem = 'model_state_dict is not a dict';
    else {
      const tensors: [string, TensorMeta][] = [];
      const bad: string[] = [];
      for (const [k, v] of sd) {
        if (v instanceof TensorMeta) tensors.push([keyName(k), v]);
        else bad.push(keyName(k));
      }
      if (bad.length > 0) stateDictProblem = `model_state_dict holds non-tensor values (${bad.slice(0, 5).join(', ')})`;
      else if (tensors.length === 0) stateDictProblem = 'model_state_dict is empty';
      else stateDict = { key: 'model_state_dict', tensors };
    }
  }
  let parameters = 0;
  let finalLayer: CheckpointSummary['finalLayer'] = null;
  for (const [name, t] of stateDict?.tensors ?? []) {
    if (!BUFFER_SUFFIX.test(name) && t.dtype !== 'bool' && !t.dtype.startsWith('int') && t.dtype !== 'uint8')
      parameters += t.numel;
    if (t.shape.length === 2 && /(^|\.)weight$/.test(name)) finalLayer = { name, shape: t.shape, classes: t.shape[0]! };
  }
  return {
    file: ckpt.file,
    bytes: ckpt.size,
    bytesRead: ckpt.bytesRead,
    prefix: ckpt.prefix,
    entries: ckpt.zip.entries.length,
    protocol: ckpt.protocol,
    topLevelKeys,
    stateDict,
    stateDictProblem,
    parameters,
    tensorCount: stateDict?.tensors.length ?? [...walkTensors(data)].length,
    epoch: await findNumberAt(ckpt, EPOCH_PATHS),
    valAcc: await findNumberAt(ckpt, VAL_ACC_PATHS),
    finalLayer,
    globals: [...ckpt.globals].sort(),
  };
}

/** Opens, summarises and closes a checkpoint. */
export async function readCheckpointMetadata(
  run: RunArtifacts,
  rel: string,
  limits: CheckpointLimits,
): Promise<CheckpointSummary> {
  const ckpt = await Checkpoint.open(run, rel, limits);
  try {
    return await summarizeCheckpoint(ckpt);
  } finally {
    await ckpt.close();
  }
}
