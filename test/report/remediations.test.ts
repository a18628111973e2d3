import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';

const CHECKS_DIR = path.join(REPO_ROOT, 'src/checks');
const FILE = /(?:[\w.-]+\/)*[\w-][\w.-]*\.(?:md|json|log|txt|ya?ml|pt|onnx|png|npy|npz|py)\b(?!\.\w)/g;

/** A remediation may name a run file (the default layout, as the example run has it) or a file of this repository. */
function exists(file: string): boolean {
  return (
    existsSync(path.join(EXAMPLE_RUN, file)) ||
    existsSync(path.join(REPO_ROOT, file)) ||
    Object.values(DEFAULT_POLICY.paths).includes(file)
  );
}

describe('remediation texts name only files and steps that exist', () => {
  it.each(AUTOMATED_CHECKS.map((c) => [c.id, c.remediation] as const))('%s', (_id, text) => {
    for (const m of text.matchAll(FILE)) expect(exists(m[0]), `${m[0]} does not exist`).toBe(true);
  });

  it('no check module points at a workflow document, step or phase that ships nowhere', () => {
    for (const f of readdirSync(CHECKS_DIR).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(CHECKS_DIR, f), 'utf8');
      expect(text, f).not.toMatch(/workflow\.md|\bStep \d+ of\b|\bPhase \d/);
      for (const m of text.matchAll(/remediation:\s*`([^`]*)`|REMEDIATION = '([^']*)'/g)) {
        for (const file of (m[1] ?? m[2] ?? '').matchAll(FILE)) expect(exists(file[0]), `${f}: ${file[0]}`).toBe(true);
      }
    }
  });
});
