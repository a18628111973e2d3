import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/repro-env-snapshot.js';
import { describeBadDocument, removeFile, replace, runOn, variant, writeRunFile } from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const REQ = 'requirements.txt';
const ENV = 'environment.yml';

afterAll(cleanupRuns);

const PINNED_ENV = `name: digits
channels:
  - conda-forge
dependencies:
  - python=3.11.2
  - numpy=1.24.2=py311h8e6699e_0
  - pytorch==1.13.0
  - pip
  - pip:
      - onnx==1.12.0
`;

describe('repro.env_snapshot', () => {
  it('passes on the example run: all 9 packages pinned, key versions shown', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `${REQ}: all 9 packages pinned (torch==1.13.0a0 at ${REQ}:1, numpy==1.24.2 at ${REQ}:2, scikit-learn==1.2.1 at ${REQ}:3, onnx==1.12.0 at ${REQ}:5)`,
    ]);
    expect(r.result.metrics).toEqual({ packages: 9, unpinned: 0 });
  });

  it('fails an unpinned torch>=2.0, naming the package, its spec and line', async () => {
    const r = await runOn(await variant({ [REQ]: replace('torch==1.13.0a0', 'torch>=2.0') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([
      `${REQ}: 1 of 9 packages not pinned to one version: ${REQ}:1 torch>=2.0 (>=2.0 is a range)`,
    ]);
    expect(r.result.metrics).toEqual({ packages: 9, unpinned: 1 });
    expect(r.result.remediation).toContain('torch==2.1.0 not torch>=2.0');
  });

  it('fails -e git+… editable installs and direct URLs', async () => {
    const r = await runOn(
      await variant({
        [REQ]: (t) =>
          `${t}-e git+https://github.com/acme/vision.git@main#egg=vision\nmylib @ https://example.com/mylib-1.0.tar.gz\n`,
      }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${REQ}: 2 of 11 packages not pinned to one version: ${REQ}:10 vision -e git+https://github.com/acme/vision.git@main#egg=vision (git reference "@main" is a branch or tag, which can move; only a full commit id pins), ${REQ}:11 mylib @ https://example.com/mylib-1.0.tar.gz (URL without a hash: what it serves can change (add #sha256= or --hash))`,
    );
  });

  it('fails bare names, ~= and wildcard pins; ignores comments, options and blank lines', async () => {
    const text =
      '# generated\n--index-url https://download.pytorch.org/whl/cpu\n\ntorch==2.1.0  # cpu\nnumpy\nscipy~=1.10\npillow==9.*\nonnx===1.12.0\n';
    const dir = await variant();
    await writeRunFile(dir, REQ, text);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${REQ}: 3 of 5 packages not pinned to one version: ${REQ}:5 numpy (no version given), ${REQ}:6 scipy~=1.10 (compatible release ~=1.10 allows later releases), ${REQ}:7 pillow==9.* (wildcard ==9.* matches every 9.x release)`,
    );
  });

  it('passes a pinned environment.yml when there is no requirements.txt', async () => {
    const dir = await variant();
    await removeFile(dir, REQ);
    await writeRunFile(dir, ENV, PINNED_ENV);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail'); // bare "pip" is an unpinned conda spec
    expect(r.result.evidence[0]).toBe(
      `${ENV}: 1 of 5 packages not pinned to one version: ${ENV}:8 pip (no version given)`,
    );

    await writeRunFile(dir, ENV, PINNED_ENV.replace('  - pip\n', '  - pip=23.0.1\n'));
    const ok = await runOn(dir, check);
    expect(ok.result.status).toBe('pass');
    expect(ok.result.evidence).toEqual([
      `${ENV}: all 5 packages pinned (numpy=1.24.2=py311h8e6699e_0 at ${ENV}:6, pytorch==1.13.0 at ${ENV}:7, onnx==1.12.0 at ${ENV}:10)`,
    ]);
  });

  it('fails an unpinned environment.yml (numpy>=1.24, pytorch, pip: torch>=2.0)', async () => {
    const dir = await variant();
    await removeFile(dir, REQ);
    await writeRunFile(
      dir,
      ENV,
      'name: digits\ndependencies:\n  - python=3.11\n  - numpy>=1.24\n  - pytorch\n  - pip:\n    - torch>=2.0\n',
    );
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${ENV}: 4 of 4 packages not pinned to one version: ${ENV}:3 python=3.11 (=3.11 is conda's fuzzy 3.11*: every 3.11.x release), ${ENV}:4 numpy>=1.24 (>=1.24 is a range), ${ENV}:5 pytorch (no version given), ${ENV}:7 torch>=2.0 (>=2.0 is a range)`,
    );
    expect(r.result.metrics).toEqual({ packages: 4, unpinned: 4 });
  });

  it('checks both files when both exist: a loose environment.yml fails a pinned requirements.txt run', async () => {
    const dir = await variant();
    await writeRunFile(dir, ENV, 'dependencies:\n  - numpy\n');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([
      `${ENV}: 1 of 1 packages not pinned to one version: ${ENV}:2 numpy (no version given)`,
      `${REQ}: all 9 packages pinned (torch==1.13.0a0 at ${REQ}:1, numpy==1.24.2 at ${REQ}:2, scikit-learn==1.2.1 at ${REQ}:3, onnx==1.12.0 at ${REQ}:5)`,
    ]);
  });

  it('an environment.yml that is not YAML is an error naming the file', async () => {
    const dir = await variant();
    await removeFile(dir, REQ);
    await writeRunFile(dir, ENV, 'dependencies: [numpy\n  - : :\n');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('error');
    expect(r.text).toMatch(new RegExp(`^${ENV} is not valid YAML: `));
  });

  it('an environment.yml without a dependencies list is an error naming the file', async () => {
    const dir = await variant();
    await removeFile(dir, REQ);
    await writeRunFile(dir, ENV, 'name: digits\n');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('error');
    expect(r.text).toBe(`${ENV}: expected a "dependencies" list`);
  });

  it('fails when neither file exists', async () => {
    const dir = await variant();
    await removeFile(dir, REQ);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`neither ${REQ} nor ${ENV} exists`]);
  });

  it('accepts CRLF requirements', async () => {
    const r = await runOn(await variant({ [REQ]: (t) => t.replace(/\n/g, '\r\n') }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics).toEqual({ packages: 9, unpinned: 0 });
  });

  describeBadDocument(check, REQ, {
    missing: { status: 'fail', text: `neither ${REQ} nor ${ENV} exists` },
    empty: { status: 'fail', text: `${REQ} lists no packages` },
  });
});
