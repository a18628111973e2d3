import path from 'node:path';
import type { RunArtifacts } from '../artifacts/run.js';
import { checkpointLimits, LEGACY_REMEDIATION } from '../checkpoint/reader.js';
import { type CheckpointSummary, readCheckpointMetadata } from '../checkpoint/summary.js';
import { GateError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { fail } from './define.js';
import type { CheckOutcome } from './types.js';

/** "12 KB", "272 KB", "44.8 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GB`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Reads a checkpoint's metadata for a check. A missing, truncated, legacy or otherwise unreadable
 * file becomes a `fail` outcome with concrete evidence; a hostile file rethrows its GateError,
 * which the runner reports as a security finding.
 */
export async function loadCheckpointForCheck(
  run: RunArtifacts,
  rel: string,
  policy: Policy,
  remediation: string,
): Promise<{ summary: CheckpointSummary } | { outcome: CheckOutcome }> {
  const size = await run.size(rel);
  if (size === null) return { outcome: fail([`${rel} not found in the run`], {}, { remediation }) };
  try {
    return { summary: await readCheckpointMetadata(run, rel, checkpointLimits(policy)) };
  } catch (err) {
    if (!(err instanceof GateError) || err.hostile) throw err;
    const name = path.posix.basename(rel);
    if (err.code === 'UNSUPPORTED_FORMAT' && err.message.includes('legacy torch serialization')) {
      return {
        outcome: fail(
          [`${name}: ${formatBytes(size)}, ${LEGACY_REMEDIATION} (${rel})`],
          { bytes: size },
          {
            remediation: `Re-save the checkpoint with torch.save(checkpoint, path) on PyTorch ≥ 1.6 (zip format, the default), or pass _use_new_zipfile_serialization=True. ${remediation}`,
          },
        ),
      };
    }
    if (['PARSE_ERROR', 'UNSUPPORTED_FORMAT', 'TOO_LARGE', 'SHAPE_MISMATCH', 'NOT_A_FILE'].includes(err.code)) {
      return {
        outcome: fail([`${name} is not a readable torch checkpoint: ${err.message}`], { bytes: size }, { remediation }),
      };
    }
    throw err;
  }
}

/**
 * "safe: one way to read the zip (…); plain torch.save archive (…); restricted pickle (protocol 2)
 * named only allow-listed globals (...); read 7 KB of 272 KB"
 */
export function safetyEvidence(s: CheckpointSummary): string {
  return (
    `safe: one way to read the zip (a single end record, ${s.entries} entries end to end, local headers match the directory); ` +
    `a plain torch.save archive (no TorchScript records, one pickle); restricted pickle read (protocol ${s.protocol}, nothing executed) named only allow-listed globals` +
    ` (${s.globals.join(', ') || 'none'}); read ${formatBytes(s.bytesRead)} of ${formatBytes(s.bytes)} (tensor data not loaded)`
  );
}
