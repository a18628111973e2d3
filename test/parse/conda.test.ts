import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeMatchSpec, parseEnvironmentYml, parseMatchSpec } from '../../src/parse/conda.js';
import { REPO_ROOT } from '../helpers/runs.js';

const FIXTURES = path.join(REPO_ROOT, 'test/corpus/env/fixtures');

// Expectations follow conda/conda tests/models/test_match_spec.py (test_canonical_string_forms,
// test_conda_env_form): "numpy=1.7" is the fuzzy 1.7*, "numpy 1.7" and "numpy==1.7" are exact,
// "numpy=1.7=py3*_2" is exactly 1.7 with a build pattern, "numpy=1.7.*=py3*_2" is fuzzy again.
describe('parseMatchSpec (conda MatchSpec)', () => {
  it.each([
    ['numpy', { name: 'numpy', version: '' }],
    ['numpy=1.7', { name: 'numpy', version: '1.7*' }],
    ['numpy 1.7*', { name: 'numpy', version: '1.7*' }],
    ['numpy==1.7', { name: 'numpy', version: '1.7' }],
    ['numpy 1.7', { name: 'numpy', version: '1.7' }],
    ["numpy[version='1.7']", { name: 'numpy', version: '1.7' }],
    ["numpy[version='1.7|1.8']", { name: 'numpy', version: '1.7|1.8' }],
    ['numpy>=1.7', { name: 'numpy', version: '>=1.7' }],
    ['numpy=1.7=py3*_2', { name: 'numpy', version: '1.7', build: 'py3*_2' }],
    ['numpy=1.7.*=py3*_2', { name: 'numpy', version: '1.7.*', build: 'py3*_2' }],
    ['numpy=1.10=py38_0', { name: 'numpy', version: '1.10', build: 'py38_0' }],
    ['numpy!=1.10 py38_0', { name: 'numpy', version: '!=1.10', build: 'py38_0' }],
    ['numpy[version=1.10 build=py38_0]', { name: 'numpy', version: '1.10', build: 'py38_0' }],
    [
      'conda-forge::numpy==1.21.0=py39h1234567_0',
      { name: 'numpy', version: '1.21.0', build: 'py39h1234567_0', channel: 'conda-forge' },
    ],
    [
      'pkgs/main::pandas==1.3.0=py39h123_0',
      { name: 'pandas', version: '1.3.0', build: 'py39h123_0', channel: 'pkgs', subdir: 'main' },
    ],
    ['python=3.9.7=h12debd9_0  # from conda env export', { name: 'python', version: '3.9.7', build: 'h12debd9_0' }],
    [
      'https://conda.anaconda.org/conda-forge/linux-64/numpy-1.24.2-py311h8e6699e_0.conda',
      { name: 'numpy', version: '1.24.2', build: 'py311h8e6699e_0', explicit: true },
    ],
  ])('%s', (spec, expected) => {
    expect(parseMatchSpec(spec)).toMatchObject(expected);
  });

  it('refuses operators without a version', () => {
    expect(() => parseMatchSpec('numpy==')).toThrow('has an operator without a version');
    expect(() => parseMatchSpec('numpy>=')).toThrow('has an operator without a version');
  });
});

describe('judgeMatchSpec: pinned means one version', () => {
  const j = (s: string) => judgeMatchSpec(parseMatchSpec(s));
  it.each([
    ['numpy=1.24.2=py311h8e6699e_0', true, 'version 1.24.2, build py311h8e6699e_0'],
    ['numpy==1.24.2', true, '==1.24.2'],
    ['numpy 1.24.2', true, '==1.24.2'],
    ['numpy=1.24.2', true, '=1.24.2 (conda reads 1.24.2*: that release and its sub-releases)'],
    ['python=3.11', false, "=3.11 is conda's fuzzy 3.11*: every 3.11.x release"],
    ['numpy=1.7.*=py3*_2', false, "=1.7 is conda's fuzzy 1.7*: every 1.7.x release"],
    ['numpy>=1.24', false, '>=1.24 is a range'],
    ["numpy[version='1.7|1.8']", false, '1.7|1.8 is a range'],
    ['numpy', false, 'no version given'],
    ['numpy *', false, 'no version given'],
  ])('%s → pinned=%s', (spec, pinned, reason) => {
    expect(j(spec)).toEqual({ pinned, reason });
  });
});

describe('parseEnvironmentYml on what conda writes', () => {
  it('conda env export (name=version=build, prefix, pip: name==version): all pinned, lines from the file', () => {
    const env = parseEnvironmentYml(
      readFileSync(path.join(FIXTURES, 'conda-env-export.yml'), 'utf8'),
      'environment.yml',
    );
    expect(env.problems).toEqual([]);
    expect(env.requirements.map((r) => [r.name, r.spec, r.pinned, r.line, r.source])).toEqual([
      ['python', '=3.9.7=h12debd9_0', true, 5, 'conda'],
      ['numpy', '=1.21.0=py39hdbf815f_0', true, 6, 'conda'],
      ['onnx', '==1.12.0', true, 8, 'pip'],
    ]);
  });

  it('conda env export --no-builds: full versions are accepted as pinned', () => {
    const env = parseEnvironmentYml(
      readFileSync(path.join(FIXTURES, 'conda-env-export-no-builds.yml'), 'utf8'),
      'environment.yml',
    );
    expect(env.requirements.every((r) => r.pinned)).toBe(true);
  });

  it('pip: entries are requirement-file lines (options, hashes, includes)', () => {
    const env = parseEnvironmentYml(
      'dependencies:\n  - pip:\n    - -r extra.txt\n    - "torch==2.1.0 --hash=sha256:abcd"\n    - --frobnicate\n',
      'environment.yml',
    );
    expect(env.includes).toEqual([{ kind: 'requirement', target: 'extra.txt', line: 3 }]);
    expect(env.requirements).toMatchObject([{ name: 'torch', pinned: true, hashes: 1, line: 4 }]);
    expect(env.problems).toEqual([{ line: 5, message: 'unknown option --frobnicate (pip refuses this line)' }]);
  });

  it('entries that are not match specs are problems with their line', () => {
    const env = parseEnvironmentYml('dependencies:\n  - numpy==\n  - {foo: bar}\n', 'environment.yml');
    expect(env.problems).toEqual([
      { line: 2, message: '"numpy==" is not a conda match spec: "==" has an operator without a version' },
      { line: 3, message: 'a dependencies entry is neither a match spec nor a "pip:" list' },
    ]);
  });
});
