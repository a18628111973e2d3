import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The committed example run, made by examples/train/train_digits.py with real PyTorch. */
export const EXAMPLE_RUN = path.join(REPO_ROOT, 'examples/digits-run');

const made: string[] = [];

/**
 * Copies the example run into a fresh temp folder so a test can mutate it into a defect variant.
 * Returns the run folder. Call `cleanupRuns()` in afterAll.
 */
export async function copyExampleRun(source = EXAMPLE_RUN): Promise<string> {
  const parent = await mkdtemp(path.join(tmpdir(), 'readiness-run-'));
  made.push(parent);
  const dir = path.join(parent, 'run');
  await cp(source, dir, { recursive: true });
  return dir;
}

export async function cleanupRuns(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Rewrites a run file through a text transform (fails the test if the text did not change). */
export async function mutateText(run: string, rel: string, transform: (text: string) => string): Promise<void> {
  const file = path.join(run, rel);
  const before = await readFile(file, 'utf8');
  const after = transform(before);
  if (after === before) throw new Error(`mutation of ${rel} changed nothing`);
  await writeFile(file, after);
}
