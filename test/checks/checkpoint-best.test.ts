import { copyFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { check } from '../../src/checks/checkpoint-best.js';
import { runCheck } from '../../src/checks/runner.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { integerBombCheckpoint, integerBombPickle } from '../helpers/hostile-artifacts.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/checkpoints');
const BEST = DEFAULT_POLICY.paths.checkpoint_best;
const MARKER = '/tmp/readiness_gate_checkpoint_marker';

async function runWith(fixture: string | null) {
  const dir = await copyExampleRun();
  if (fixture === null) await rm(path.join(dir, BEST));
  else await copyFile(path.join(FIXTURES, fixture), path.join(dir, BEST));
  return runCheck(check, { run: await RunArtifacts.open(dir), policy: DEFAULT_POLICY });
}

afterAll(cleanupRuns);

describe('checkpoint.best', () => {
  it('passes on the example run with epoch, val_acc, parameters, tensors and size', async () => {
    const r = await runCheck(check, { run: await RunArtifacts.open(EXAMPLE_RUN), policy: DEFAULT_POLICY });
    expect(r.status).toBe('pass');
    expect(r.evidence[0]).toMatch(
      /^final_model_best\.pt: epoch 29, val_acc 98\.89 %, 21,642 parameters in 18 tensors, 272 KB \(checkpoints\/production\/final_model_best\.pt\)$/,
    );
    expect(r.metrics).toMatchObject({ epoch: 29, val_acc: 98.8889, parameters: 21642, tensors: 18, bytes: 278331 });
    expect(r.metrics.bytes_read).toBeLessThan(20_000);
    expect(r.evidence[2]).toMatch(
      /^safe: one way to read the zip \(a single end record, \d+ entries end to end, local headers match the directory\); a plain torch\.save archive \(no TorchScript records, one pickle\); restricted pickle read/,
    );
  });

  it('fails with the checklist remediation when the file is missing', async () => {
    const r = await runWith(null);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toBe(`${BEST} not found in the run`);
    expect(r.remediation).toBe(check.remediation);
  });

  it('says a val_acc fraction was read as a fraction (nested metrics dict)', async () => {
    const r = await runWith('nested_metrics.pt');
    expect(r.status).toBe('pass');
    expect(r.evidence[0]).toContain('epoch 12, val_acc 96.11 % (read as fraction 0.9611)');
    expect(r.evidence[1]).toContain('metrics.val_acc');
  });

  it('passes a checkpoint that also holds optimizer and scheduler state', async () => {
    const r = await runWith('optimizer.pt');
    expect(r.status).toBe('pass');
    expect(r.evidence[0]).toContain('epoch 30, val_acc 95.5 % (read as fraction 0.955)');
  });

  it('fails when model_state_dict, epoch or val_acc is missing', async () => {
    const r = await runWith('scalars.pt');
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/model_state_dict \(a dict of tensors\) is missing; no epoch .*; no val_acc/);
  });

  it('fails a legacy (non-zip) checkpoint with what to do, without unpickling it', async () => {
    const r = await runWith('legacy.pt');
    expect(r.status).toBe('fail');
    expect(r.security).toBeUndefined();
    expect(r.evidence[0]).toContain(
      'legacy torch serialization; re-save with torch.save(..., _use_new_zipfile_serialization=True) (the default since PyTorch 1.6)',
    );
    expect(r.remediation).toMatch(/_use_new_zipfile_serialization=True/);
  });

  it('fails a truncated checkpoint as unreadable (not a crash)', async () => {
    const r = await runWith('truncated.pt');
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/not a readable torch checkpoint: .*truncated or corrupt/);
  });

  it('fails a real torch checkpoint whose object reduces to os.system as a security finding and runs nothing', async () => {
    await rm(MARKER, { force: true });
    const r = await runWith('os_system.pt');
    expect(r.status).toBe('fail');
    expect(r.security).toBe(true);
    expect(r.evidence[0]).toMatch(/security finding: .*(posix|os)\.system.*byte \d+/);
    await expect(stat(MARKER)).rejects.toThrow(/ENOENT/);
  });

  for (const [fixture, named] of [
    ['gadget_eval.pt', 'builtins.eval'],
    ['gadget_exec.pt', 'builtins.exec'],
    ['gadget_runpy.pt', 'runpy._run_code'],
    ['gadget_getattr.pt', 'builtins.getattr'],
    ['zip_slip.pt', '../../evil.sh'],
    ['zip_bomb.pt', 'zip bomb'],
    ['memo_bomb.pt', 'billion-laughs'],
  ] as const) {
    it(`fails ${fixture} as a security finding naming ${named}`, async () => {
      const r = await runWith(fixture);
      expect(r.status).toBe('fail');
      expect(r.security).toBe(true);
      expect(r.evidence.join('\n')).toContain(named);
      await expect(stat(MARKER)).rejects.toThrow(/ENOENT/);
    });
  }

  for (const [fixture, marker, named] of [
    [
      'eocd_differential.pt',
      '/tmp/readiness_gate_eocd_marker',
      /second end record \(end-of-central-directory signature at byte 24560\).*miniz/,
    ],
    [
      'torchscript_polyglot.pt',
      '/tmp/readiness_gate_torchscript_marker',
      /a TorchScript archive \(constants\.pkl, code\/.*torch\.jit\.load/,
    ],
  ] as const) {
    it(`fails ${fixture} (runs code under real torch.load) as a security finding`, async () => {
      await rm(marker, { force: true });
      const r = await runWith(fixture);
      expect(r.status).toBe('fail');
      expect(r.security).toBe(true);
      expect(r.evidence[0]).toMatch(named);
      await expect(stat(marker)).rejects.toThrow(/ENOENT/);
    });
  }

  it('fails a 59 MB data.pkl of huge LONG4 integers as a security finding within a generous time and memory bound', async () => {
    const pkl = integerBombPickle();
    expect(pkl.length).toBeGreaterThan(59_000_000);
    const dir = await copyExampleRun();
    await writeFile(path.join(dir, BEST), integerBombCheckpoint());
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const r = await runCheck(check, { run: await RunArtifacts.open(dir), policy: DEFAULT_POLICY });
    const elapsed = performance.now() - started;
    expect(r.status).toBe('fail');
    expect(r.security).toBe(true);
    expect(r.evidence[0]).toMatch(
      /pickle integers exceed 1048576 bytes in total \(integer bomb.*\(at bomb\/data\.pkl byte \d+\)/,
    );
    expect(elapsed).toBeLessThan(10_000); // measured ≈ 0.4 s here; it took 79 s before integers were budgeted
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(512 * 1024 * 1024);
  });
});
