import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  CheckLimitExceeded,
  checkTimeoutMs,
  type HeavyExecutor,
  limitExceededResult,
  outcomeFromError,
} from '../checks/runner.js';
import type { CheckProgress, CheckResult } from '../checks/types.js';
import { type CheckLanes, checkLanes } from '../observability/health.js';
import type { Policy } from '../policy/schema.js';
import type { HeavyMessage, HeavyRequest } from './heavy-child.js';

const here = fileURLToPath(import.meta.url);
/** The child's entry point: workers/heavy-child.js in dist/, workers/heavy-child.ts when run from source (tsx). */
const CHILD = path.join(path.dirname(here), '..', '..', 'workers', `heavy-child${path.extname(here)}`);
/** From source the child needs tsx, which a test runner's own process may not have in its execArgv. */
const CHILD_EXEC_ARGV =
  CHILD.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx'))
    ? [...process.execArgv, '--import', 'tsx']
    : process.execArgv;

/** How often the watchdog reads the child's resident memory. */
const WATCH_INTERVAL_MS = 100;

export class HeavyCheckAborted extends Error {}

interface Pending {
  /** The child the request went to: its exit fails only its own requests. */
  child: ChildProcess;
  resolve: (v: { result: CheckResult; accessed: string[] }) => void;
  reject: (e: Error) => void;
  onProgress: ((p: CheckProgress) => void) | undefined;
}

export interface HeavyRunOptions {
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
  /** Time limit: past it the child is killed and the run rejects with CheckLimitExceeded. 0 = none. */
  timeoutMs?: number;
  /** Resident-memory limit of the child in MB (same treatment). 0 = none. */
  memoryMb?: number;
}

/** Resident memory of a process in bytes from /proc (Linux), or null where that is not available. */
export function residentBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The heavy-check limits of a policy: `limits.check_timeout_s.heavy` and `limits.heavy_check_memory_mb`. */
export function heavyLimits(policy: Policy): { timeoutMs: number; memoryMb: number } {
  return { timeoutMs: checkTimeoutMs({ heavy: true }, policy), memoryMb: policy.limits.heavy_check_memory_mb };
}

/**
 * Runs heavy checks in one long-lived child process (started on first use, restarted after a
 * crash, an abort or a limit). Progress comes back over IPC. Each run has a time limit and a
 * resident-memory limit watched from here (/proc, every 100 ms, with the child's own reports as a
 * fallback): past either the child is SIGKILLed, the run rejects with CheckLimitExceeded and the
 * next run gets a fresh child. onnxruntime-node exposes no arena size cap, so this watchdog is
 * what bounds its memory. A killed child that does not exit blocks the heavy lane in CheckLanes
 * (so /readyz says so) until it does.
 */
export class HeavyRunner {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Last resident memory the child reported itself (where /proc is not readable). */
  private reportedRss = 0;

  constructor(private readonly lanes: CheckLanes = checkLanes) {}

  private ensureChild(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    const child = fork(CHILD, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: CHILD_EXEC_ARGV,
    });
    this.reportedRss = 0;
    child.on('message', (msg: HeavyMessage) => {
      if (msg.kind === 'rss') {
        if (this.child === child) this.reportedRss = msg.rss;
        return;
      }
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
        if (p.child !== child) continue;
        this.pending.delete(id);
        p.reject(new Error(why));
      }
    };
    child.on('exit', (code, signal) =>
      failAll(`heavy check process exited (${signal ?? `code ${code}`}) before reporting a result`),
    );
    child.on('error', (err) => failAll(err.message));
    this.child = child;
    return child;
  }

  /** Kills the child and lets go of it at once (the next run starts a new one); blocks the heavy lane if it lingers. */
  private discard(child: ChildProcess, why: string): void {
    if (this.child === child) this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    let unblock: (() => void) | null = null;
    const grace = setTimeout(() => {
      unblock = this.lanes.blockHeavy(
        `heavy check process ${child.pid ?? '?'} was killed (${why}) ${Math.round(this.lanes.graceMs / 1000)} s ago and has not exited`,
      );
    }, this.lanes.graceMs);
    grace.unref();
    child.once('exit', () => {
      clearTimeout(grace);
      (unblock as (() => void) | null)?.();
    });
  }

  run(req: HeavyRequest, opts: HeavyRunOptions = {}): Promise<{ result: CheckResult; accessed: string[] }> {
    if (opts.signal?.aborted) return Promise.reject(new HeavyCheckAborted('aborted before start'));
    const child = this.ensureChild();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const stop = (err: Error, why: string): void => {
        if (!this.pending.delete(id)) return;
        cleanup();
        reject(err);
        this.discard(child, why);
      };
      const onAbort = (): void => stop(new HeavyCheckAborted('heavy check aborted'), 'aborted');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs && opts.timeoutMs > 0) {
        const limit = new CheckLimitExceeded('time', opts.timeoutMs / 1000, 'limits.check_timeout_s.heavy');
        timers.push(setTimeout(() => stop(limit, limit.message), opts.timeoutMs));
      }
      if (opts.memoryMb && opts.memoryMb > 0) {
        const limitBytes = opts.memoryMb * 1024 * 1024;
        timers.push(
          setInterval(() => {
            const rss = (child.pid !== undefined ? residentBytes(child.pid) : null) ?? this.reportedRss;
            if (rss > limitBytes) {
              const limit = new CheckLimitExceeded('memory', opts.memoryMb as number, 'limits.heavy_check_memory_mb');
              stop(limit, `${limit.message}; resident ${Math.round(rss / 2 ** 20)} MB`);
            }
          }, WATCH_INTERVAL_MS),
        );
      }
      const cleanup = (): void => {
        for (const t of timers) clearTimeout(t);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, {
        child,
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
        onProgress: opts.onProgress,
      });
      child.send({ id, request: req, reportRss: !(child.pid !== undefined && residentBytes(child.pid) !== null) });
    });
  }

  /**
   * A HeavyExecutor for runChecks (the CLI): the check runs in the child under the policy's heavy
   * limits; files it read are added to the run's accessed set; a limit or a crash becomes its result.
   */
  executor(): HeavyExecutor {
    return async (def, ctx) => {
      const started = performance.now();
      try {
        const out = await this.run(
          { checkId: def.id, runDir: ctx.run.root, policy: ctx.policy },
          {
            ...heavyLimits(ctx.policy),
            ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
            ...(ctx.signal ? { signal: ctx.signal } : {}),
          },
        );
        for (const rel of out.accessed) ctx.run.accessed.add(rel);
        return out.result;
      } catch (err) {
        if (err instanceof CheckLimitExceeded) return limitExceededResult(def, err, performance.now() - started);
        const outcome = outcomeFromError(err);
        return {
          id: def.id,
          category: def.category,
          title: def.title,
          status: 'error',
          evidence: outcome.evidence,
          metrics: {},
          remediation: def.remediation,
          duration_ms: Math.round(performance.now() - started),
        };
      }
    };
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
