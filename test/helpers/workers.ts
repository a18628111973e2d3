import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './runs.js';
import { waitFor } from './wait.js';

export interface WorkerEnv {
  redisUrl: string;
  prefix: string;
  artifactRoot: string;
  extra?: Record<string, string>;
}

/** Settings that make stalled-job recovery observable within a test (production defaults are minutes). */
export const FAST_STALL_ENV = {
  WORKER_LOCK_DURATION_MS: '3000',
  WORKER_STALLED_INTERVAL_MS: '1000',
};

export function workerEnv(e: WorkerEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: e.redisUrl,
    REDIS_PREFIX: e.prefix,
    ARTIFACT_ROOT: e.artifactRoot,
    LOG_LEVEL: 'info',
    ...e.extra,
  };
}

/** A real worker OS process (`runWorkerProcess` under tsx), with its output captured. */
export class WorkerProcess {
  readonly proc: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(env: WorkerEnv, queues = 'light,heavy') {
    this.proc = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'test/workers/fixtures/worker.ts'), queues],
      {
        cwd: REPO_ROOT,
        env: workerEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async ready(timeoutMs = 30_000): Promise<this> {
    await waitFor(
      () => this.output.includes('worker started') || !this.alive,
      () => `worker did not start: ${this.output}`,
      timeoutMs,
    );
    if (!this.alive) throw new Error(`worker exited: ${this.output}`);
    return this;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }
}
