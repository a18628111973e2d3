import { describe, expect, it } from 'vitest';
import { parseEnvironmentYml, parsePipLine, parseRequirementsTxt } from '../../src/parse/requirements.js';

describe('parsePipLine', () => {
  it.each([
    ['torch==2.1.0', 'torch', '==2.1.0', true],
    ['torch == 2.1.0+cu118', 'torch', '==2.1.0+cu118', true],
    ['onnx===1.12.0', 'onnx', '===1.12.0', true],
    ['uvicorn[standard]==0.23.2', 'uvicorn', '==0.23.2', true],
    ['numpy==1.26.4 ; python_version >= "3.9"', 'numpy', '==1.26.4', true],
    ['torch>=2.0', 'torch', '>=2.0', false],
    ['scipy~=1.10', 'scipy', '~=1.10', false],
    ['pillow==9.*', 'pillow', '==9.*', false],
    ['numpy', 'numpy', '(no version)', false],
    ['numpy==1.2,<2', 'numpy', '==1.2,<2', false],
  ])('%s → %s %s pinned=%s', (line, name, spec, pinned) => {
    expect(parsePipLine(line, 3)).toEqual({ name, spec, pinned, line: 3, source: 'pip' });
  });

  it('editable installs and URLs are never pinned', () => {
    expect(parsePipLine('-e git+https://github.com/a/b.git@v1#egg=b', 1)).toMatchObject({ pinned: false, spec: '-e git+https://github.com/a/b.git@v1#egg=b' });
    expect(parsePipLine('--editable ./local', 1)).toMatchObject({ pinned: false });
    expect(parsePipLine('mylib @ https://x/mylib-1.0.tar.gz', 1)).toMatchObject({ name: 'mylib', pinned: false });
    expect(parsePipLine('git+https://github.com/a/b.git', 1)).toMatchObject({ pinned: false });
  });

  it('skips comments, blank lines and options', () => {
    for (const l of ['', '   ', '# torch==2', '--index-url https://x', '--extra-index-url https://y', '-r base.txt', '-c constraints.txt']) {
      expect(parsePipLine(l, 1)).toBeNull();
    }
    expect(parsePipLine('torch==2.1.0  # cpu build', 1)).toMatchObject({ spec: '==2.1.0', pinned: true });
  });
});

describe('parseRequirementsTxt', () => {
  it('numbers lines as in the file', () => {
    const r = parseRequirementsTxt('# header\n\ntorch>=2.0\nnumpy==1.26.4\n');
    expect(r.map((x) => [x.name, x.line, x.pinned])).toEqual([
      ['torch', 3, false],
      ['numpy', 4, true],
    ]);
  });
});

describe('parseEnvironmentYml', () => {
  const env = 'name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.11.2\n  - numpy=1.26.4=py311h_0\n  - "scipy==1.11.1"\n  - pytorch>=2.0\n  - cudatoolkit\n  - conda-forge::onnx=1.14.0\n  - pip\n  - pip:\n      - torch==2.1.0\n      - requests>=2\n';

  it('pins conda "=" / "==" / build strings; pip sub-list follows pip rules; file line numbers', () => {
    const r = parseEnvironmentYml(env, 'environment.yml');
    expect(r.map((x) => [x.name, x.spec, x.pinned, x.line, x.source])).toEqual([
      ['python', '=3.11.2', true, 4, 'conda'],
      ['numpy', '=1.26.4=py311h_0', true, 5, 'conda'],
      ['scipy', '==1.11.1', true, 6, 'conda'],
      ['pytorch', '>=2.0', false, 7, 'conda'],
      ['cudatoolkit', '(no version)', false, 8, 'conda'],
      ['conda-forge::onnx', '=1.14.0', true, 9, 'conda'],
      ['pip', '(no version)', false, 10, 'conda'],
      ['torch', '==2.1.0', true, 12, 'pip'],
      ['requests', '>=2', false, 13, 'pip'],
    ]);
  });

  it('rejects invalid YAML and a missing dependencies list with PARSE_ERROR naming the file', () => {
    expect(() => parseEnvironmentYml('dependencies: [a\n', 'environment.yml')).toThrow(/^environment\.yml is not valid YAML: /);
    expect(() => parseEnvironmentYml('name: x\n', 'environment.yml')).toThrow('environment.yml: expected a "dependencies" list');
    expect(() => parseEnvironmentYml('', 'environment.yml')).toThrow('environment.yml: expected a "dependencies" list');
  });

  it('refuses a YAML alias bomb', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`), 'dependencies: [numpy==1]'].join('\n');
    expect(() => parseEnvironmentYml(bomb, 'environment.yml')).toThrow(/environment\.yml is not valid YAML/);
  });
});
