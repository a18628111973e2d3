/**
 * Child process that runs one heavy check (ONNX parity, latency). Heavy checks run here, not in
 * the worker process: the worker's event loop stays free to renew job locks, a shutdown past its
 * deadline can kill the computation cleanly (terminating onnxruntime's thread inside a process
 * aborts that process), and a native crash takes down only this child.
 */
import { RunArtifacts } from '../src/artifacts/run.js';
import { findCheck } from '../src/checks/registry.js';
import { outcomeFromError, runCheck } from '../src/checks/runner.js';
import type { CheckResult } from '../src/checks/types.js';
import type { Policy } from '../src/policy/schema.js';

export interface HeavyRequest {
  checkId: string;
  runDir: string;
  policy: Policy;
}

export type HeavyMessage =
  | { kind: 'progress'; done: number; total: number; label: string }
  | { kind: 'result'; result: CheckResult; accessed: string[] }
  | { kind: 'error'; message: string };

function send(msg: HeavyMessage): Promise<void> {
  return new Promise((resolve) => process.send?.(msg, undefined, {}, () => resolve()));
}

// The worker died (SIGKILL): nobody wants the result; stop computing at once.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));

process.once('message', (req: HeavyRequest) => {
  void (async () => {
    const def = findCheck(req.checkId);
    if (!def) {
      await send({ kind: 'error', message: `unknown check id "${req.checkId}"` });
      return;
    }
    let run: RunArtifacts;
    try {
      run = await RunArtifacts.open(req.runDir);
    } catch (err) {
      const o = outcomeFromError(err);
      await send({ kind: 'error', message: o.evidence.join('; ') });
      return;
    }
    const result = await runCheck(def, { run, policy: req.policy, onProgress: (p) => void send({ kind: 'progress', ...p }) });
    await send({ kind: 'result', result, accessed: [...run.accessed] });
    process.disconnect();
  })();
});
