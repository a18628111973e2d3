import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './runs.js';
import { waitFor } from './wait.js';

export interface WorkerEnv {
  redisUrl: string;
  prefix: string;
  artifactRoot: string;
  extra?: Record<string, string>;
  /** Hold a heavy check of this worker's at its first progress report until the test releases it. */
  hold?: HeavyHold;
}

const HOLD_PRELOAD = pathToFileURL(path.join(REPO_ROOT, 'test/helpers/heavy-hold-preload.ts')).href;

/**
 * Holds the first heavy check that reports progress under `label` (by default "latency":
 * export.inference's latency test) on the workers started with it, until `release()`: the check
 * is then certainly still running, with progress stored, when a test kills, stops or cuts off its
 * worker (heavy-hold-preload.ts does the holding in the worker's heavy-check child). Production
 * code has no part in it.
 */
export class HeavyHold {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'readiness-hold-'));

  constructor(readonly label = 'latency') {}

  get env(): Record<string, string> {
    return { READINESS_TEST_HEAVY_HOLD: this.dir, READINESS_TEST_HEAVY_HOLD_LABEL: this.label };
  }

  /** The pid of the heavy-check child holding the check, once one does. */
  get holder(): number | null {
    try {
      return Number(readFileSync(path.join(this.dir, 'held'), 'utf8'));
    } catch {
      return null;
    }
  }

  /** Lets the held check go on (its held messages go out within a poll, 25 ms). */
  release(): void {
    writeFileSync(path.join(this.dir, 'release'), '');
  }

  /** Releases the check and removes the folder. */
  remove(): void {
    this.release();
    rmSync(this.dir, { recursive: true, force: true });
  }
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
    ...e.hold?.env,
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
      [
        '--import',
        'tsx',
        ...(env.hold ? ['--import', HOLD_PRELOAD] : []),
        path.join(REPO_ROOT, 'test/workers/fixtures/worker.ts'),
        queues,
      ],
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
