import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { check } from '../../src/checks/consistency-metrics.js';
import { runCheck } from '../../src/checks/runner.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { encodeNpy } from '../../src/testset/npy.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, mutateText, REPO_ROOT } from '../helpers/runs.js';

const P = DEFAULT_POLICY.paths;
const run = async (dir: string) => runCheck(check, { run: await RunArtifacts.open(dir), policy: DEFAULT_POLICY });

afterAll(cleanupRuns);

describe('consistency.metrics', () => {
  it('passes on the example run, naming every source', async () => {
    const r = await run(EXAMPLE_RUN);
    expect(r.status).toBe('pass');
    const text = r.evidence.join('\n');
    expect(text).toMatch(
      /val_acc agrees within rounding across 4 sources: 98\.8888888888888\d*% \(checkpoints\/production\/final_model_best\.pt key val_acc\); .*98\.9% \(results\/production\/test_results\.md line 20\); 98\.9% \(final_report\.md line 15\)/,
    );
    expect(text).toMatch(
      /epoch 29 agrees across \d+ sources: .*final_report\.md line 27: "final_model_best\.pt \(epoch 29"/,
    );
    expect(text).toMatch(
      /10 classes agree across 5 sources: final layer fc2\.weight \[10, 32\].*10 rows in the per-class table.*output "logits" \[batch, 10\] of models\/production_model\.onnx; max label 9 \+ 1 in data\/test\/labels\.npy/,
    );
    expect(r.metrics).toMatchObject({ disagreements: 0, val_acc_sources: 4 });
  });

  it('fails when test_results.md writes another validation accuracy, listing every value and source', async () => {
    const dir = await copyExampleRun();
    await mutateText(dir, P.test_results, (t) =>
      t.replace('- Validation Accuracy: 98.9%', '- Validation Accuracy: 97.1%'),
    );
    const r = await run(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(
      /^val_acc disagrees beyond the rounding of what is written: 98\.8888888888888\d*% \(checkpoints\/production\/final_model_best\.pt key val_acc\) vs .* vs 97\.1% \(results\/production\/test_results\.md line 20\) vs 98\.9% \(final_report\.md line 15\)$/,
    );
  });

  it('accepts a value written as a fraction within its rounding', async () => {
    const dir = await copyExampleRun();
    await mutateText(dir, P.final_report, (t) =>
      t.replace('- Validation Accuracy: 98.9%', '- Validation Accuracy: 0.989'),
    );
    const r = await run(dir);
    expect(r.status).toBe('pass');
    expect(r.evidence[0]).toContain('98.9% (read as fraction 0.989) (final_report.md line 15)');
  });

  it('fails when the report names another epoch than the checkpoint', async () => {
    const dir = await copyExampleRun();
    await mutateText(dir, P.final_report, (t) =>
      t.replace('final_model_best.pt (epoch 29)', 'final_model_best.pt (epoch 27)'),
    );
    const r = await run(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(
      /^epoch disagrees: 29 \(checkpoints\/production\/final_model_best\.pt key epoch\) vs .*27 \(final_report\.md line 27: "final_model_best\.pt \(epoch 27"\)/,
    );
  });

  it('fails when the checkpoint is a different (stale) one', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(REPO_ROOT, 'test/fixtures/checkpoints/normal.pt'), path.join(dir, P.checkpoint_best));
    const r = await run(dir);
    expect(r.status).toBe('fail');
    const text = r.evidence.join('\n');
    expect(text).toContain('97.24% (checkpoints/production/final_model_best.pt key val_acc)');
    expect(text).toMatch(/epoch disagrees: 17 \(checkpoints\/production\/final_model_best\.pt key epoch\) vs 29/);
  });

  it('fails when the per-class table or the labels disagree with the final layer', async () => {
    const dir = await copyExampleRun();
    await mutateText(dir, P.test_results, (t) => t.replace(/\| 9 \| 1\.000 \| 0\.944 \| 0\.971 \| 36 \|\n/, ''));
    const labels = new BigInt64Array(20).map((_, i) => BigInt(i % 12));
    await writeFile(path.join(dir, P.test_labels), encodeNpy('int64', [20], labels));
    const r = await run(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toBe(
      'number of classes disagrees: 10 (final layer fc2.weight [10, 32] in checkpoints/production/final_model_best.pt) vs 9 (9 rows in the per-class table (results/production/test_results.md line 30)) vs 10 (results/production/metrics.json num_classes) vs 10 (output "logits" [batch, 10] of models/production_model.onnx) vs 12 (max label 11 + 1 in data/test/labels.npy (12 distinct labels in 20 samples))',
    );
  });

  it('fails when the report does not name the best epoch at all', async () => {
    const dir = await copyExampleRun();
    await mutateText(dir, P.final_report, (t) =>
      t
        .replace('final_model_best.pt (epoch 29)', 'final_model_best.pt')
        .replace('best checkpoint (epoch 29)', 'best checkpoint'),
    );
    const r = await run(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toContain(
      'final_report.md does not name the best checkpoint\'s epoch (expected "final_model_best.pt (epoch 29)" or "Best epoch: 29")',
    );
  });
});
