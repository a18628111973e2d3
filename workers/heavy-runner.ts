import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckProgress, CheckResult } from '../src/checks/types.js';
import type { HeavyMessage, HeavyRequest } from './heavy-child.js';

const here = fileURLToPath(import.meta.url);
/** heavy-child.js next to this file in dist/, heavy-child.ts when run from source (tsx). */
const CHILD = path.join(path.dirname(here), `heavy-child${path.extname(here)}`);

export class HeavyCheckAborted extends Error {}

interface Pending {
  resolve: (v: { result: CheckResult; accessed: string[] }) => void;
  reject: (e: Error) => void;
  onProgress: ((p: CheckProgress) => void) | undefined;
}

/**
 * Runs heavy checks in one long-lived child process (started on first use, restarted after a
 * crash or an abort). Progress comes back over IPC; aborting kills the child (SIGKILL).
 */
export class HeavyRunner {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private ensureChild(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    child.on('message', (msg: HeavyMessage) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.kind === 'progress') {
        p.onProgress?.({ done: msg.done, total: msg.total, label: msg.label });
        return;
      }
      this.pending.delete(msg.id);
      if (msg.kind === 'result') p.resolve({ result: msg.result, accessed: msg.accessed });
      else p.reject(new Error(msg.message));
    });
    const failAll = (why: string): void => {
      if (this.child === child) this.child = null;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new Error(why));
      }
    };
    child.on('exit', (code, signal) => failAll(`heavy check process exited (${signal ?? `code ${code}`}) before reporting a result`));
    child.on('error', (err) => failAll(err.message));
    this.child = child;
    return child;
  }

  run(req: HeavyRequest, opts: { onProgress?: (p: CheckProgress) => void; signal?: AbortSignal } = {}): Promise<{ result: CheckResult; accessed: string[] }> {
    if (opts.signal?.aborted) return Promise.reject(new HeavyCheckAborted('aborted before start'));
    const child = this.ensureChild();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(id);
        reject(new HeavyCheckAborted('heavy check aborted'));
        child.kill('SIGKILL');
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => opts.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (v) => (cleanup(), resolve(v)),
        reject: (e) => (cleanup(), reject(e)),
        onProgress: opts.onProgress,
      });
      child.send({ id, request: req });
    });
  }

  /** Stops the child (running work is abandoned; call after jobs finished or were returned). */
  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
