import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/runs.js';

const run = promisify(execFile);
const tmp = await mkdtemp(path.join(os.tmpdir(), 'readiness-import-rules-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

const DEPCRUISE = path.join(REPO_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');

/** A throwaway tree laid out like the repository; runs the repository's import rules over it. */
async function cruise(name: string, files: Record<string, string>): Promise<{ code: number; out: string }> {
  const root = path.join(tmp, name);
  const all = {
    'tsconfig.check.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    ...files,
  };
  for (const [rel, text] of Object.entries(all)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  try {
    const { stdout } = await run(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'err', 'src'], {
      cwd: root,
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

describe('import rules (.dependency-cruiser.cjs)', () => {
  it('a tree that keeps the layers passes', async () => {
    const r = await cruise('clean', {
      'src/parse/a.ts': 'export const a = 1;\n',
      'src/checks/b.ts': "import { a } from '../parse/a.js';\nexport const b = a;\n",
      'src/slack/c.ts': "import { b } from '../checks/b.js';\nexport const c = b;\n",
    });
    expect(r.out).toContain('no dependency violations');
    expect(r.code).toBe(0);
  });

  it.each([
    [
      'no-circular',
      {
        'src/gate/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
        'src/gate/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      },
    ],
    [
      'src-not-workers',
      {
        'workers/entry.ts': 'export const entry = 1;\n',
        'src/cli/serve.ts': "import { entry } from '../../workers/entry.js';\nexport const s = entry;\n",
      },
    ],
    [
      'pure-not-infrastructure',
      {
        'src/store/redis-store.ts': 'export class Store {}\n',
        'src/checks/x.ts': "import type { Store } from '../store/redis-store.js';\nexport type X = Store;\n",
      },
    ],
    [
      'readers-not-checks',
      {
        'src/checks/define.ts': 'export const fail = 1;\n',
        'src/checkpoint/support.ts': "import { fail } from '../checks/define.js';\nexport const f = fail;\n",
      },
    ],
  ])('%s: a violating import fails the check', async (rule, files) => {
    const r = await cruise(rule, files);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`error ${rule}:`);
  });
});
