import { copyFile, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/export-present.js';
import { removeFile, runOn, sparseFile, symlinkOutside, writeRunFile } from '../helpers/check.js';
import { externaliseOnnxWeights } from '../helpers/external-onnx.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';

const ONNX = 'models/production_model.onnx';
const TS = 'models/production_model.pt';
const CKPT = 'checkpoints/production/final_model_best.pt';

afterAll(cleanupRuns);

/** Deterministic filler so the archive is a plausible size next to the 272 KB checkpoint. */
const weights = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) % 256);

/** What torch.jit.save writes: <name>/code/…, constants.pkl, data.pkl, data/… (stored, like torch). */
function torchScriptZip(): Buffer {
  return Buffer.from(
    zipSync(
      {
        'production_model/data.pkl': new Uint8Array([0x80, 0x02, 0x2e]),
        'production_model/code/__torch__/model.py': new TextEncoder().encode(
          'class DigitsCNN(Module):\n  def forward(self, x):\n    return x\n',
        ),
        'production_model/constants.pkl': new Uint8Array([0x80, 0x02, 0x29, 0x2e]),
        'production_model/data/0': weights(90_000),
        'production_model/version': new TextEncoder().encode('3\n'),
      },
      { level: 0 },
    ),
  );
}

/** What torch.save writes: archive/data.pkl, archive/data/<n>, no code/ and no constants.pkl. */
function torchSaveZip(): Buffer {
  return Buffer.from(
    zipSync(
      {
        'archive/data.pkl': new Uint8Array([0x80, 0x02, 0x7d, 0x2e]),
        'archive/data/0': weights(90_000),
        'archive/version': new TextEncoder().encode('3\n'),
      },
      { level: 0 },
    ),
  );
}

describe('export.present', () => {
  it('passes on the example run: a real ONNX file of 85.4 KB, 0.31× the best checkpoint', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([`ONNX: ${ONNX} (85.4 KB, 0.31× the best checkpoint)`]);
    expect(r.result.metrics).toEqual({ format: 'onnx', bytes: 87483, checkpoint_ratio: 0.3143 });
  });

  it('an ONNX model with external data is sized with its data file (the model file alone is implausibly small)', async () => {
    const dir = await copyExampleRun();
    const dataRel = await externaliseOnnxWeights(dir);
    const r = await runOn(dir, check);
    expect(r.result.status, r.text).toBe('pass');
    expect(r.result.evidence).toEqual([`ONNX: ${ONNX} + ${dataRel} (86 KB, 0.32× the best checkpoint)`]);
    const sizes = await Promise.all([ONNX, dataRel].map(async (rel) => (await stat(path.join(dir, rel))).size));
    expect(sizes[0]).toBeLessThan(10_000);
    expect(r.result.metrics.bytes).toBe(sizes[0]! + sizes[1]!);
    expect([...r.run.accessed]).toContain(dataRel);
  });

  it('fails an empty ONNX file (0 bytes)', async () => {
    const dir = await copyExampleRun();
    await writeRunFile(dir, ONNX, '');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`${ONNX} is 0 bytes (minimum 1024): empty or truncated`]);
    expect(r.result.remediation).toContain('to models/production_model.onnx with torch.onnx.export');
  });

  it('fails a text file renamed .onnx', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(dir, 'docs/deployment_guide.md'), path.join(dir, ONNX));
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(
        `^${ONNX} is not a valid ONNX file: byte 0: field \\d+ wire type \\d is not part of an ONNX ModelProto$`,
      ),
    );
    expect(r.result.metrics.format).toBeNull();
  });

  it('fails a truncated ONNX file', async () => {
    const dir = await copyExampleRun();
    const full = await readFile(path.join(dir, ONNX));
    await writeRunFile(dir, ONNX, full.subarray(0, 60_000));
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      /is not a valid ONNX file: field 7 at byte \d+ claims \d+ bytes, past the end of the file \(truncated\?\)$/,
    );
  });

  it('fails when neither an ONNX nor a TorchScript export exists', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, ONNX);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`neither ${ONNX} nor ${TS} exists`]);
  });

  it('passes a TorchScript-only export (zip with <name>/code/ and constants.pkl)', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, ONNX);
    const zip = torchScriptZip();
    await writeRunFile(dir, TS, zip);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^TorchScript: ${TS} \\(\\d+(\\.\\d)? KB, 0\\.\\d+× the best checkpoint\\)$`),
    );
    expect(r.result.metrics.format).toBe('torchscript');
    expect(r.result.metrics.bytes).toBe(zip.length);
  });

  it('refuses a torch.save-style zip (no code/, no constants.pkl) as the TorchScript export', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, ONNX);
    await writeRunFile(dir, TS, torchSaveZip());
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${TS} is not a valid TorchScript file: a torch zip without code/ or constants.pkl: a torch.save of weights, not a TorchScript (torch.jit.save) export`,
    );
  });

  it('refuses the real best checkpoint (made by torch.save) copied as production_model.pt', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, ONNX);
    await copyFile(path.join(dir, CKPT), path.join(dir, TS));
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain('a torch.save of weights, not a TorchScript (torch.jit.save) export');
  });

  it('refuses a .pt that is not a zip at all', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, ONNX);
    await copyFile(path.join(dir, 'docs/deployment_guide.md'), path.join(dir, TS));
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${TS} is not a valid TorchScript file: ${TS}: not a readable zip archive (no end-of-central-directory record); the file may be truncated or corrupt`,
    );
  });

  it('refuses a zip cut before its central directory', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, ONNX);
    await writeRunFile(dir, TS, torchScriptZip().subarray(0, 60_000));
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${TS} is not a valid TorchScript file: ${TS}: not a readable zip archive (no end-of-central-directory record); the file may be truncated or corrupt`,
    );
  });

  it('passes on a valid TorchScript next to a broken ONNX and reports the broken one', async () => {
    const dir = await copyExampleRun();
    await writeRunFile(dir, ONNX, '');
    await writeRunFile(dir, TS, torchScriptZip());
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[1]).toBe(`also: ${ONNX} is 0 bytes (minimum 1024): empty or truncated`);
  });

  it('fails an export whose size is implausible for the checkpoint (policy ratio 0.5–10)', async () => {
    const r = await runOn(EXAMPLE_RUN, check, {
      policyLayer: { source: 'policy.yml', data: { export: { min_checkpoint_ratio: 0.5 } } },
    });
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${ONNX} is 85.4 KB, 0.314× the best checkpoint (271.8 KB); plausible is 0.5–10×: the export does not look like this model`,
    );
  });

  it('an ONNX symlinked to /etc/passwd is a security fail', async () => {
    const dir = await copyExampleRun();
    await symlinkOutside(dir, ONNX);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.security).toBe(true);
    expect(r.text).toContain(`${ONNX} is a symlink that points outside the run folder`);
  });

  it('a 2 GB sparse ONNX is sniffed from its head without reading it whole, and refused', async () => {
    const dir = await copyExampleRun();
    await sparseFile(dir, ONNX);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(new RegExp(`^${ONNX} is not a valid ONNX file: `));
  });
});

describe('export.present with a hostile TorchScript archive', () => {
  it('a zip-slip entry name is a security finding, not a format error', async () => {
    const dir = await copyExampleRun();
    await removeFile(dir, ONNX);
    await writeRunFile(
      dir,
      TS,
      Buffer.from(
        zipSync(
          { 'm/code/__torch__.py': new Uint8Array(4096).fill(1), '../../evil.pkl': new Uint8Array(4096).fill(2) },
          { level: 0 },
        ),
      ),
    );
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.security).toBe(true);
    expect(r.result.evidence[0]).toMatch(/security finding: .*\.\./);
  });
});
