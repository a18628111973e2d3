import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './net.js';

/**
 * A redis-server of the test's own (for tests that restart or kill Redis, or change its config):
 * never the shared one, never the machine's 6379.
 */
export class OwnRedis {
  proc: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: string[],
  ) {}

  static async start(opts: { aof?: boolean; maxmemoryPolicy?: string } = {}): Promise<OwnRedis> {
    const port = await freePort();
    const dir = await mkdtemp(path.join(tmpdir(), 'readiness-own-redis-'));
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--dir',
      dir,
      '--maxmemory-policy',
      opts.maxmemoryPolicy ?? 'noeviction',
    ];
    if (opts.aof) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    const r = new OwnRedis(port, dir, args);
    await r.launch();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    this.proc = spawn('redis-server', this.args, { stdio: 'ignore' });
    await waitForPort(this.port, true);
  }

  /** Kills the server without letting it save anything beyond what AOF already has. */
  async kill(): Promise<void> {
    const p = this.proc;
    // a process ended by a signal has signalCode set and exitCode null
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    await waitForPort(this.port, false);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
