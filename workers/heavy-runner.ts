import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckProgress, CheckResult } from '../src/checks/types.js';
import type { Policy } from '../src/policy/schema.js';
import type { HeavyMessage, HeavyRequest } from './heavy-child.js';

const here = fileURLToPath(import.meta.url);
/** heavy-child.js next to this file in dist/, heavy-child.ts when run from source (tsx). */
const CHILD = path.join(path.dirname(here), `heavy-child${path.extname(here)}`);

export class HeavyCheckAborted extends Error {}

/**
 * Runs a heavy check in a child process. Progress comes back over IPC; `signal` kills the child
 * (SIGKILL) and rejects with HeavyCheckAborted.
 */
export function runHeavyCheck(
  req: HeavyRequest,
  opts: { onProgress?: (p: CheckProgress) => void; signal?: AbortSignal } = {},
): Promise<{ result: CheckResult; accessed: string[] }> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new HeavyCheckAborted('aborted before start'));
      return;
    }
    const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    let settled = false;
    const done = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      child.kill('SIGKILL');
      done(() => reject(new HeavyCheckAborted('heavy check aborted')));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (msg: HeavyMessage) => {
      if (msg.kind === 'progress') opts.onProgress?.({ done: msg.done, total: msg.total, label: msg.label });
      else if (msg.kind === 'result') done(() => resolve({ result: msg.result, accessed: msg.accessed }));
      else done(() => reject(new Error(msg.message)));
    });
    child.on('error', (err) => done(() => reject(err)));
    child.on('exit', (code, signal) => done(() => reject(new Error(`heavy check process exited (${signal ?? `code ${code}`}) before reporting a result`))));
    child.send(req);
  });
}
