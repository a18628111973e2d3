/**
 * File types before bytes: a FIFO, a socket or a directory where a run file should be is refused
 * as a security finding without ever being opened for reading (a FIFO would block the open).
 */
import { execFileSync } from 'node:child_process';
import { constants as fsc, type Stats } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifest } from '../../src/artifacts/manifest.js';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { runCli } from '../helpers/cli.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';

let base: string;
let runDir: string;
let socketServer: Server;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'special-files-'));
  runDir = path.join(base, 'run');
  await mkdir(path.join(runDir, 'docs'), { recursive: true });
  await writeFile(path.join(runDir, 'docs/ok.md'), '# fine\n');
  execFileSync('mkfifo', [path.join(runDir, 'docs/fifo.md')]);
  await mkdir(path.join(runDir, 'docs/dir.md'));
  socketServer = createServer();
  await new Promise<void>((r) => socketServer.listen(path.join(runDir, 'docs/sock.md'), r));
});

afterAll(async () => {
  await new Promise((r) => socketServer.close(r));
  await rm(base, { recursive: true, force: true });
  await cleanupRuns();
});

describe('non-regular files in a run', () => {
  it.each([
    ['docs/fifo.md', /FIFO \(named pipe\)/],
    ['docs/sock.md', /a socket/],
    ['docs/dir.md', /a directory/],
  ])('%s is refused as a security finding before any read, by every way of reading it', async (rel, kind) => {
    const run = await RunArtifacts.open(runDir);
    const refused = { code: 'NOT_A_FILE', hostile: true, file: rel, message: expect.stringMatching(kind) };
    await expect(run.readText(rel)).rejects.toMatchObject(refused);
    await expect(run.openFile(rel)).rejects.toMatchObject(refused);
    await expect(run.readHead(rel, 8)).rejects.toMatchObject(refused);
    await expect(run.size(rel)).rejects.toMatchObject(refused);
    expect(run.accessed.has(rel)).toBe(false);
  });

  it('the manifest hashes the regular files and leaves the FIFO to the checks, without blocking', async () => {
    const run = await RunArtifacts.open(runDir);
    const t0 = performance.now();
    const m = await buildManifest(run, ['docs/ok.md', 'docs/fifo.md', 'docs/sock.md', 'docs/dir.md']);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(m.entries.map((e) => e.path)).toEqual(['docs/ok.md']);
  });

  it('a size cap is enforced before the file is opened', async () => {
    const run = await RunArtifacts.open(runDir);
    await expect(run.openFile('docs/ok.md', { maxBytes: 3 })).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringMatching(/docs\/ok\.md is 7 bytes; the limit for this file is 3 bytes/),
    });
    expect(run.accessed.has('docs/ok.md')).toBe(false);
  });
});

describe('readiness check on a run whose training.log is a FIFO', () => {
  it('ends quickly, BLOCKED, with a security finding naming the FIFO; the FIFO is not in the manifest', async () => {
    const run = await copyExampleRun();
    const log = path.join(run, 'results/production/training.log');
    await unlink(log);
    execFileSync('mkfifo', [log]);
    const t0 = performance.now();
    const r = await runCli(['check', run, '--skip-heavy', '--format', 'json', '--quiet'], { timeoutMs: 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    // a hang is killed at 60 s (code null); the check itself takes a few seconds
    expect(r.code).toBe(1);
    expect(seconds).toBeLessThan(60);
    const j = JSON.parse(r.stdout) as {
      gate: string;
      manifest: { entries: { path: string }[] };
      checks: { id: string; status: string; security?: boolean; evidence: string[] }[];
    };
    expect(j.gate).toBe('blocked');
    const training = j.checks.find((c) => c.id === 'training.completed');
    expect(training).toMatchObject({ status: 'fail', security: true });
    expect(training?.evidence.join(' ')).toMatch(
      /security finding: results\/production\/training\.log is a FIFO \(named pipe\), not a regular file/,
    );
    expect(j.manifest.entries.map((e) => e.path)).not.toContain('results/production/training.log');
  });
});

/**
 * The window between the lstat and the open, made deterministic: the run's lstat step is given
 * the stats of a regular file while the path already holds something else (what a swap in that
 * window looks like). The open itself must still refuse it.
 */
describe('a path swapped between the lstat and the open', () => {
  type StatStep = (rel: string) => Promise<{ clean: string; abs: string; st: Stats }>;
  async function swapped(): Promise<RunArtifacts> {
    const run = await RunArtifacts.open(runDir);
    const seen = await stat(path.join(runDir, 'docs/ok.md'));
    (run as unknown as { statRegular: StatStep }).statRegular = async (r) => ({
      clean: r,
      abs: path.join(run.root, r),
      st: seen,
    });
    return run;
  }

  it('a FIFO: the open does not wait for a writer (O_NONBLOCK) and the opened file is refused by its fstat', async () => {
    const run = await swapped();
    try {
      await expect(run.openFile('docs/fifo.md')).rejects.toMatchObject({
        code: 'NOT_A_FILE',
        hostile: true,
        message: expect.stringMatching(/docs\/fifo\.md is a FIFO \(named pipe\), not a regular file/),
      });
    } finally {
      // a blocking open would still be waiting for a writer: give it one so the thread is freed
      const w = await open(path.join(runDir, 'docs/fifo.md'), fsc.O_WRONLY | fsc.O_NONBLOCK).catch(() => null);
      await w?.close();
    }
    expect(run.accessed.has('docs/fifo.md')).toBe(false);
  }, 15_000);

  it('a symlink: the open does not follow it (O_NOFOLLOW), a security finding', async () => {
    await symlink('ok.md', path.join(runDir, 'docs/link.md'));
    const run = await swapped();
    await expect(run.openFile('docs/link.md')).rejects.toMatchObject({
      code: 'PATH_ESCAPE',
      hostile: true,
      message: 'docs/link.md became a symlink while it was being opened; refused',
    });
  });

  it('another regular file: device and inode differ from the lstat, refused', async () => {
    await writeFile(path.join(runDir, 'docs/other.md'), '# other\n');
    const run = await swapped();
    await expect(run.readText('docs/other.md')).rejects.toMatchObject({
      code: 'NOT_A_FILE',
      hostile: true,
      message: 'docs/other.md was replaced by another file while it was being opened; refused',
    });
    expect(run.accessed.has('docs/other.md')).toBe(false);
  });
});
