import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/test-per-class.js';
import {
  describeBadDocument,
  GARBAGE,
  removeFile,
  replace,
  runOn,
  sparseFile,
  symlinkOutside,
  TWO_GB,
  variant,
  writeRunFile,
} from '../helpers/check.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';

const MD = 'results/production/test_results.md';
const PNG = 'results/production/confusion_matrix.png';
const row9 = (cells: string) => replace('| 9 | 1.000 | 0.944 | 0.971 | 36 |', `| 9 | ${cells} | 36 |`);

afterAll(cleanupRuns);

async function withPng(transform: (png: Buffer) => Buffer): Promise<string> {
  const dir = await copyExampleRun();
  const file = path.join(dir, PNG);
  await writeFile(file, transform(await readFile(file)));
  return dir;
}

describe('test.per_class', () => {
  it('passes on the example run: real 400×320 PNG, 10 classes, lowest F1 0.971 (class 9), lowest recall 94.4%', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `${PNG}: valid PNG 400×320`,
      `10 classes in ${MD} (table at ${MD}:30); lowest F1 0.971 (class 9), lowest recall 94.4%`,
    ]);
    expect(r.result.metrics).toEqual({ classes: 10, min_f1: 0.971, min_recall: 0.944, weak_classes: 0 });
  });

  it('fails when one class has F1 < 0.7', async () => {
    const dir = await variant({ [MD]: row9('1.000 | 0.944 | 0.650') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`class 9: F1 0.65 ≤ 0.7 (${MD}:41)`);
    expect(r.result.metrics.min_f1).toBe(0.65);
    expect(r.result.metrics.weak_classes).toBe(1);
    expect(r.result.remediation).toContain('analyse per-class performance');
  });

  it('fails at exactly F1 0.7 (must be > 0.7) and passes 0.701', async () => {
    const at = await runOn(await variant({ [MD]: row9('1.000 | 0.944 | 0.700') }), check);
    expect(at.result.status).toBe('fail');
    expect(at.result.evidence[0]).toBe(`class 9: F1 0.7 ≤ 0.7 (${MD}:41)`);
    const above = await runOn(await variant({ [MD]: row9('1.000 | 0.944 | 0.701') }), check);
    expect(above.result.status).toBe('pass');
    expect(above.result.metrics.min_f1).toBe(0.701);
  });

  it('fails a class with recall < 50 % as catastrophic, even with F1 above 0.7', async () => {
    const dir = await variant({ [MD]: row9('1.000 | 0.450 | 0.750') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`class 9: recall 45% < 50% (catastrophic) (${MD}:41)`);
    expect(r.result.metrics.min_recall).toBe(0.45);
  });

  it('passes recall exactly 50 % (≥) when F1 is fine', async () => {
    const r = await runOn(await variant({ [MD]: row9('1.000 | 0.500 | 0.750') }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.min_recall).toBe(0.5);
  });

  it('reads a per-class table written in percents and says so', async () => {
    const dir = await variant({
      [MD]: (t) =>
        t.replace(
          /^\| (\d) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| (\d+) \|$/gm,
          (_m, c: string, p: string, rc: string, f: string, n: string) =>
            `| ${c} | ${(Number(p) * 100).toFixed(1)}% | ${(Number(rc) * 100).toFixed(1)}% | ${(Number(f) * 100).toFixed(1)}% | ${n} |`,
        ),
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[1]).toBe(
      `10 classes in ${MD} (table at ${MD}:30) (values read as percents); lowest F1 0.971 (class 9), lowest recall 94.4%`,
    );
  });

  it('a percent table with a weak class fails (65% F1 is 0.65)', async () => {
    const dir = await variant({ [MD]: row9('100% | 94.4% | 65.0%') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`class 9: F1 0.65 ≤ 0.7 (${MD}:41)`);
  });

  it('fails when the per-class table is gone', async () => {
    const dir = await variant({
      [MD]: replace(
        /\| Class \| Precision[\s\S]*?\| 9 \| 1\.000 \| 0\.944 \| 0\.971 \| 36 \|\n/,
        'Per-class numbers will follow.\n',
      ),
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${MD}: no per-class table (columns Class and F1/Recall) found`);
  });

  it('fails when the confusion matrix PNG is missing', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, PNG);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${PNG} not found`);
  });

  it('fails a PNG with a bad CRC', async () => {
    const dir = await withPng((b) => {
      const c = Buffer.from(b);
      c[200] = c[200]! ^ 0xff; // inside the first IDAT
      return c;
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^${PNG} is not a valid PNG: CRC mismatch in chunk \\w{4} at byte \\d+$`),
    );
  });

  it('fails a truncated PNG', async () => {
    const dir = await withPng((b) => b.subarray(0, Math.floor(b.length / 2)));
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^${PNG} is not a valid PNG: chunk IDAT at byte \\d+ runs past the end of the file$`),
    );
  });

  it('fails a PNG cut just before IEND', async () => {
    const dir = await withPng((b) => b.subarray(0, b.length - 12));
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${PNG} is not a valid PNG: no IEND chunk (file truncated)`);
  });

  it('fails a file that is not a PNG (JPEG bytes / text renamed .png)', async () => {
    const dir = await copyExampleRun();
    await writeRunFile(
      dir,
      PNG,
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF not really')]),
    );
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${PNG} is not a valid PNG: missing PNG signature`);

    await writeRunFile(dir, PNG, GARBAGE);
    const r2 = await runOn(dir, check);
    expect(r2.result.evidence[0]).toBe(`${PNG} is not a valid PNG: missing PNG signature`);
  });

  it('a PNG symlinked to /etc/passwd is a security fail', async () => {
    const dir = await copyExampleRun();
    await symlinkOutside(dir, PNG);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.security).toBe(true);
    expect(r.text).toContain(`${PNG} is a symlink that points outside the run folder`);
  });

  it('a 2 GB sparse PNG is refused from its size', async () => {
    const dir = await copyExampleRun();
    await sparseFile(dir, PNG);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('error');
    expect(r.text).toContain(`${PNG} is ${TWO_GB} bytes; the limit for this file is`);
  });

  describeBadDocument(check, MD, {
    missing: { status: 'fail', text: `${MD} not found: no per-class performance documented` },
    empty: { status: 'fail', text: `${MD}: no per-class table (columns Class and F1/Recall) found` },
  });
});
