import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/repro-documented.js';
import {
  describeBadDocument,
  dropSection,
  removeFile,
  replace,
  runOn,
  setSection,
  symlinkOutside,
  variant,
} from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const REPORT = 'final_report.md';

afterAll(cleanupRuns);

describe('repro.documented', () => {
  it('passes on the example run: seed 42, config (exists), checkpoint epoch 29, Python and PyTorch versions', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `${REPORT} "Reproducibility" (line 23): seed 42 (${REPORT}:25), config configs/final_config.yaml (exists; ${REPORT}:26), checkpoint checkpoints/production/final_model_best.pt epoch 29 (${REPORT}:27), Python 3.11.2 (${REPORT}:28), PyTorch 1.13.0a0 (${REPORT}:28)`,
    ]);
    expect(r.result.metrics).toEqual({
      seed: 42,
      config: 'configs/final_config.yaml',
      checkpoint: 'checkpoints/production/final_model_best.pt',
      epoch: 29,
      python: '3.11.2',
      pytorch: '1.13.0a0',
    });
  });

  it('fails without a seed', async () => {
    const r = await runOn(
      await variant({
        [REPORT]: (t) => replace('- Seed: 42 (fixed)\n', '')(t).replace('deterministic: seed 42,', 'deterministic:'),
      }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe('missing: seed (e.g. "Seed: 42")');
    expect(r.result.remediation).toContain('seed, config file');
  });

  it('fails when the config file named in the report does not exist in the run', async () => {
    const dir = await variant();
    await removeFile(dir, 'configs/final_config.yaml');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `missing: config file configs/final_config.yaml named in ${REPORT} does not exist in the run`,
    );
  });

  it('fails when no config is named', async () => {
    const r = await runOn(await variant({ [REPORT]: replace('- Config: configs/final_config.yaml\n', '') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe('missing: config file (e.g. "Config: configs/final_config.yaml")');
  });

  it('a config path in the report that leaves the run is not looked up', async () => {
    const r = await runOn(
      await variant({ [REPORT]: replace('Config: configs/final_config.yaml', 'Config: ../../etc/final_config.yaml') }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `missing: config file ../../etc/final_config.yaml named in ${REPORT} is outside the run folder`,
    );
  });

  it('a config file symlinked outside the run is a security fail', async () => {
    const dir = await variant();
    await symlinkOutside(dir, 'configs/final_config.yaml');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.security).toBe(true);
    expect(r.text).toContain('configs/final_config.yaml is a symlink that points outside the run folder');
  });

  it('fails without the checkpoint epoch', async () => {
    const r = await runOn(await variant({ [REPORT]: replace(' (epoch 29)', '') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe('missing: checkpoint epoch');
  });

  it('fails without the checkpoint', async () => {
    const r = await runOn(
      await variant({ [REPORT]: replace('- Checkpoint: checkpoints/production/final_model_best.pt (epoch 29)\n', '') }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain(
      'missing: checkpoint (e.g. "Checkpoint: checkpoints/production/final_model_best.pt (epoch 45)")',
    );
  });

  it('fails without environment versions, naming each', async () => {
    const r = await runOn(
      await variant({ [REPORT]: replace(/- Environment: .*\n/, '- Environment: see requirements.txt\n') }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe('missing: Python version; PyTorch version');
    expect(r.result.metrics.python).toBeNull();
  });

  it('reads versions written as labels ("Python: 3.11.2") and as | Component | Version | rows, each with its line', async () => {
    const labels = await runOn(
      await variant({
        [REPORT]: replace(/- Environment: .*\n/, '- Python: 3.11.2\n- PyTorch version = 1.13.0a0\n- NumPy: 1.24.2\n'),
      }),
      check,
    );
    expect(labels.result.status, labels.text).toBe('pass');
    expect(labels.text).toContain(`Python 3.11.2 (${REPORT}:28), PyTorch 1.13.0a0 (${REPORT}:29)`);
    const table = await runOn(
      await variant({
        [REPORT]: replace(
          /- Environment: .*\n/,
          '\n| Component | Version |\n|---|---|\n| Python | 3.11.2 |\n| torch | 2.1.0+cu118 |\n\n',
        ),
      }),
      check,
    );
    expect(table.result.status, table.text).toBe('pass');
    expect(table.text).toContain(`Python 3.11.2 (${REPORT}:31), PyTorch 2.1.0+cu118 (${REPORT}:32)`);
    // A name with no version next to it is not a version ("Python: see requirements.txt").
    const none = await runOn(
      await variant({
        [REPORT]: replace(/- Environment: .*\n/, '- Python: see requirements.txt\n- PyTorch: pinned there\n'),
      }),
      check,
    );
    expect(none.result.status).toBe('fail');
    expect(none.result.evidence[0]).toBe('missing: Python version; PyTorch version');
  });

  it("accepts the checklist's own example shape (bold labels, CUDA, GPU) with CRLF", async () => {
    const body = [
      '- **Seed**: 42 (fixed)',
      '- **Config**: `configs/final_config.yaml`',
      '- **Checkpoint**: `checkpoints/production/final_model_best.pt` (epoch 45)',
      '- **Environment**: Python 3.10.12, PyTorch 2.1.0+cu118, CUDA 11.8',
      '- **GPU**: NVIDIA V100 (16GB)',
    ].join('\n');
    const r = await runOn(
      await variant({ [REPORT]: (t) => setSection('Reproducibility', body)(t).replace(/\n/g, '\r\n') }),
      check,
    );
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics).toMatchObject({ seed: 42, epoch: 45, python: '3.10.12', pytorch: '2.1.0+cu118' });
  });

  it('fails when the Reproducibility section is missing', async () => {
    const r = await runOn(await variant({ [REPORT]: dropSection('Reproducibility') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`${REPORT} has no "Reproducibility" section`]);
  });

  it('fails when the Reproducibility section is empty, listing everything missing', async () => {
    const r = await runOn(await variant({ [REPORT]: setSection('Reproducibility') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      /^missing: seed .*; config file .*; checkpoint .*; checkpoint epoch; Python version; PyTorch version$/,
    );
  });

  describeBadDocument(check, REPORT, {
    missing: { status: 'fail', text: `${REPORT} not found` },
    empty: { status: 'fail', text: `${REPORT} has no "Reproducibility" section` },
  });
});
