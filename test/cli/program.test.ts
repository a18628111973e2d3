import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'readiness-program-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** Runs the built CLI with every loaded module's URL recorded; returns the exit code and the URLs. */
function tracedRun(args: string[], file: string): Promise<{ code: number | null; modules: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', path.join(REPO_ROOT, 'test/cli/fixtures/trace-imports.mjs'), 'bin/readiness.js', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, TRACE_IMPORTS_FILE: file }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', async (code) => {
      const modules = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      resolve({ code, modules, stderr });
    });
  });
}

describe('the readiness program', () => {
  it('`readiness check` loads neither Bolt, BullMQ, ioredis nor the store, queue or Slack modules', async () => {
    const r = await tracedRun(['check', EXAMPLE_RUN, '--skip-heavy', '--quiet'], path.join(tmp, 'check.txt'));
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(3);
    // the trace works: the command's own implementation is in it
    expect(r.modules.some((u) => u.endsWith('/src/cli/commands/check.js'))).toBe(true);
    const forbidden = r.modules.filter((u) =>
      /\/node_modules\/(@slack\/|bullmq\/|ioredis\/)|\/src\/(store|queue|slack|worker\/(run|worker|check-processor))\.?\/?/.test(
        u,
      ),
    );
    expect(forbidden).toEqual([]);
    // the other commands' implementations stay unloaded
    expect(r.modules.filter((u) => /\/src\/cli\/commands\/(?!check\.js)/.test(u))).toEqual([]);
  });

  it('an unexpected (non-gate) exception inside `check` exits 2 with its message, never 0', async () => {
    let stderr = '';
    const code = await main(['check', EXAMPLE_RUN, '--skip-heavy', '--allow-skipped-heavy', '--quiet'], {
      stdout: {
        write: () => {
          throw new Error('stdout is closed');
        },
      },
      stderr: {
        write: (s: string) => {
          stderr += s;
          return true;
        },
      },
      env: {},
    });
    expect(code).toBe(2);
    expect(stderr).toContain('readiness: unexpected error: stdout is closed');
  });

  it('a command ends with the code it threw (ExitError), and prints nothing more for it', async () => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: {
        write: (s: string) => {
          stdout += s;
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          stderr += s;
          return true;
        },
      },
      env: {},
    };
    expect(await main(['check', EXAMPLE_RUN, '--skip-heavy', '--quiet'], io)).toBe(3);
    expect(stdout).toContain('HEAVY CHECKS NOT RUN');
    expect(stderr).not.toMatch(/unexpected error|exit 3$/m);
  });
});
