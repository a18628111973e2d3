/**
 * The child process that runs heavy checks (ONNX parity, latency), one at a time, for one worker.
 * Heavy checks run here, not in the worker process: the worker's event loop stays free to renew
 * job locks, a shutdown past its deadline can kill the computation cleanly (terminating
 * onnxruntime's thread inside a process aborts that process), and a native crash takes down only
 * this child. The child stays up between jobs so its start-up (node, onnxruntime) is paid once.
 * Its entry point is workers/heavy-child.ts (started by HeavyRunner).
 */
import { RunArtifacts } from '../artifacts/run.js';
import { findCheck } from '../checks/registry.js';
import { outcomeFromError, runCheck } from '../checks/runner.js';
import type { CheckResult } from '../checks/types.js';
import type { Policy } from '../policy/schema.js';

export interface HeavyRequest {
  checkId: string;
  runDir: string;
  policy: Policy;
}

export type HeavyMessage =
  | { id: number; kind: 'progress'; done: number; total: number; label: string }
  | { id: number; kind: 'result'; result: CheckResult; accessed: string[] }
  | { id: number; kind: 'error'; message: string }
  /** Resident memory, reported every 200 ms when the parent cannot read /proc. */
  | { kind: 'rss'; rss: number };

function send(msg: HeavyMessage): void {
  process.send?.(msg);
}

async function handle(id: number, req: HeavyRequest): Promise<void> {
  const def = findCheck(req.checkId);
  if (!def) return send({ id, kind: 'error', message: `unknown check id "${req.checkId}"` });
  let run: RunArtifacts;
  try {
    run = await RunArtifacts.open(req.runDir);
  } catch (err) {
    return send({ id, kind: 'error', message: outcomeFromError(err).evidence.join('; ') });
  }
  // the parent enforces the time and memory limits (it kills this process): no second timer here
  const result = await runCheck(
    def,
    { run, policy: req.policy, onProgress: (p) => send({ id, kind: 'progress', ...p }) },
    { timeoutMs: 0 },
  );
  send({ id, kind: 'result', result, accessed: [...run.accessed] });
}

/** Serves heavy-check requests from the parent over IPC until the parent lets go. */
export function serveHeavyRequests(): void {
  // The worker died (SIGKILL) or let go of us: nobody wants a result; stop computing at once.
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));

  let queue: Promise<void> = Promise.resolve();
  let reporting: NodeJS.Timeout | null = null;
  process.on('message', (msg: { id: number; request: HeavyRequest; reportRss?: boolean }) => {
    if (msg.reportRss && !reporting)
      reporting = setInterval(() => send({ kind: 'rss', rss: process.memoryUsage.rss() }), 200).unref();
    queue = queue
      .then(() => handle(msg.id, msg.request))
      .catch((err: unknown) => send({ id: msg.id, kind: 'error', message: String(err) }));
  });
}
