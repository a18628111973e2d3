import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { check } from '../../src/checks/checkpoint-last.js';
import { runCheck } from '../../src/checks/runner.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/checkpoints');
const LAST = DEFAULT_POLICY.paths.checkpoint_last;

async function runWith(fixture: string | null) {
  const dir = await copyExampleRun();
  if (fixture === null) await rm(path.join(dir, LAST));
  else await copyFile(path.join(FIXTURES, fixture), path.join(dir, LAST));
  return runCheck(check, { run: await RunArtifacts.open(dir), policy: DEFAULT_POLICY });
}

afterAll(cleanupRuns);

describe('checkpoint.last', () => {
  it('passes on the example run', async () => {
    const r = await runCheck(check, { run: await RunArtifacts.open(EXAMPLE_RUN), policy: DEFAULT_POLICY });
    expect(r.status).toBe('pass');
    expect(r.evidence[0]).toBe(
      'final_model_last.pt: epoch 30, 21,642 parameters in 18 tensors, 271 KB (checkpoints/production/final_model_last.pt)',
    );
    expect(r.metrics).toMatchObject({ epoch: 30, tensors: 18 });
  });

  it('fails with the checklist remediation when missing', async () => {
    const r = await runWith(null);
    expect(r.status).toBe('fail');
    expect(r.remediation).toBe(check.remediation);
  });

  it('fails legacy and truncated files with clear evidence', async () => {
    expect((await runWith('legacy.pt')).evidence[0]).toContain('legacy torch serialization');
    const t = await runWith('truncated.pt');
    expect(t.status).toBe('fail');
    expect(t.evidence[0]).toContain('truncated');
  });

  it('fails an unsafe last checkpoint as a security finding', async () => {
    const r = await runWith('gadget_exec.pt');
    expect(r).toMatchObject({ status: 'fail', security: true });
    expect(r.evidence[0]).toContain('builtins.exec');
  });

  it('fails the EOCD parser-differential and TorchScript polyglot archives as security findings', async () => {
    for (const [fixture, named] of [
      ['eocd_differential.pt', /second end record/],
      ['torchscript_polyglot.pt', /TorchScript archive/],
    ] as const) {
      const r = await runWith(fixture);
      expect(r).toMatchObject({ status: 'fail', security: true });
      expect(r.evidence[0]).toMatch(named);
    }
  });
});
