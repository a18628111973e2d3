import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/training-completed.js';
import { describeBadDocument, removeFile, replace, runOn, variant, writeRunFile } from '../helpers/check.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';

const LOG = 'results/production/training.log';
const METRICS = 'results/production/metrics.json';

afterAll(cleanupRuns);

describe('training.completed', () => {
  it('passes on the example run with the "Training complete" line, epochs and final loss as evidence', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.remediation).toBeNull();
    expect(r.text).toContain(`${LOG}:34: "2026-11-27 13:37:05 INFO Training complete: best epoch 29`);
    expect(r.text).toContain(`30/30 epochs logged in ${LOG}`);
    expect(r.text).toContain(`${METRICS}:22: history.train_loss: 30 values, final 0.0817`);
    expect(r.result.metrics).toEqual({ epochs: 30, max_epochs: 30, final_loss: 0.0817, completed: true });
  });

  it('fails when the log has no "Training complete" line (training cut short)', async () => {
    const dir = await variant({ [LOG]: replace(/^.*Training complete.*\n?/m, '') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${LOG} has no "Training complete" line`);
    expect(r.result.metrics.completed).toBe(false);
    expect(r.result.remediation).toContain('Final training incomplete or failed');
  });

  it('fails on a NaN loss in metrics.json (Python writes bare NaN)', async () => {
    const dir = await variant({ [METRICS]: replace(/0\.0817(\s*\])/, 'NaN$1') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${METRICS}:52: history.train_loss[29] is NaN: NaN/Inf loss`);
  });

  it('fails on Infinity / -Infinity losses in metrics.json', async () => {
    const dir = await variant({ [METRICS]: replace(/"val_loss": \[\s*1\.975835/, '"val_loss": [\n      Infinity') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${METRICS}:55: history.val_loss[0] is Infinity: NaN/Inf loss`);

    const dir2 = await variant({ [METRICS]: replace('"train_loss": 0.072417', '"train_loss": -Infinity') });
    const r2 = await runOn(dir2, check);
    expect(r2.result.status).toBe('fail');
    expect(r2.text).toContain(`${METRICS}:9: train_loss is -Infinity: NaN/Inf loss`);
  });

  it('fails on "train_loss: nan" in the log', async () => {
    const dir = await variant({ [LOG]: replace('Epoch 30/30 - train_loss: 0.0817', 'Epoch 30/30 - train_loss: nan') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${LOG}:33: non-finite loss: "2026-11-27 13:37:05 INFO Epoch 30/30 - train_loss: nan`);
  });

  it('fails on a bare "loss: inf" line in the log', async () => {
    const dir = await variant({
      [LOG]: replace(/(Training complete)/, 'step 10 loss: inf\n2026-11-27 13:37:05 INFO $1'),
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${LOG}:34: non-finite loss: "2026-11-27 13:37:05 INFO step 10 loss: inf"`);
  });

  it('fails on a Python traceback in the log, even when "Training complete" was written', async () => {
    const tb =
      'Traceback (most recent call last):\n  File "train.py", line 88, in <module>\n    main()\nRuntimeError: CUDA error: device-side assert triggered\n';
    const dir = await variant({ [LOG]: (t) => t + tb });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${LOG}:35: error in the log: "Traceback (most recent call last):"`);
    expect(r.result.metrics.completed).toBe(true);
  });

  it('fails on an exception line without the Traceback header', async () => {
    const dir = await variant({
      [LOG]: replace(
        /^(.*Training complete.*)$/m,
        'ValueError: Expected input batch_size (32) to match target batch_size (16).',
      ),
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain('error in the log: "ValueError: Expected input batch_size');
  });

  it('fails when metrics.json is missing', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, METRICS);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${METRICS} not found: final metrics were not saved`);
  });

  it('fails when metrics.json is not JSON, naming the file', async () => {
    const dir = await copyExampleRun();
    await writeRunFile(dir, METRICS, '{"val_acc": 98.9, "history": {');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${METRICS} is not valid JSON`);
  });

  it('fails when metrics.json is a JSON array instead of an object', async () => {
    const dir = await copyExampleRun();
    await writeRunFile(dir, METRICS, '[1, 2, 3]');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.text).toContain(`${METRICS}: expected a JSON object at the top level`);
  });

  it('a 4 MB metrics.json of nested "[" ends as error before any parse, fast (issue: it took 760 MB)', async () => {
    const dir = await copyExampleRun();
    await writeRunFile(dir, METRICS, '['.repeat(4 * 1024 * 1024));
    const t0 = performance.now();
    const r = await runOn(dir, check);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.result.status).toBe('error');
    expect(r.text).toBe(`${METRICS}:1: JSON nests deeper than 64 levels; refused before parsing`);
  });

  it('accepts a log with CRLF line endings', async () => {
    const dir = await variant({ [LOG]: (t) => t.replace(/\n/g, '\r\n') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.text).toContain(`${LOG}:34: "2026-11-27 13:37:05 INFO Training complete: best epoch 29`);
    expect(r.text).not.toContain('\r');
  });

  describeBadDocument(check, LOG, {
    missing: { status: 'fail', text: `${LOG} not found: no training log saved` },
    empty: { status: 'fail', text: `${LOG} is empty` },
  });
});
