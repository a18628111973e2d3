import { describe, expect, it } from 'vitest';
import { parseEnvironmentYml } from '../../src/parse/conda.js';
import { parsePipRequirements, parseRequirementSpec, requirementIncludes } from '../../src/parse/requirements.js';

const one = (line: string) => parseRequirementSpec(line, 'requirements.txt', 3).req;

describe('parseRequirementSpec (PEP 508 / 440)', () => {
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
    // One version satisfies both clauses: exactly one can be installed.
    ['numpy==1.2,<2', 'numpy', '==1.2,<2', true],
    ['numpy (==1.2.3)', 'numpy', '(==1.2.3)', true],
  ])('%s → %s %s pinned=%s', (line, name, spec, pinned) => {
    expect(one(line)).toMatchObject({ name, spec, pinned, line: 3, file: 'requirements.txt', source: 'pip' });
  });

  it('URLs and VCS references are pinned only by a full commit id, a hash or a wheel name', () => {
    expect(one('mylib @ https://x/mylib-1.0.tar.gz')).toMatchObject({
      name: 'mylib',
      pinned: false,
      reason: 'URL without a hash: what it serves can change (add #sha256= or --hash)',
    });
    expect(one(`mylib @ https://x/mylib-1.0.tar.gz#sha256=${'a'.repeat(64)}`)).toMatchObject({
      pinned: true,
      reason: 'archive fixed by its hash',
    });
    expect(one('git+https://github.com/a/b.git')).toMatchObject({ pinned: false });
    expect(one('b @ git+https://github.com/a/b.git@main')).toMatchObject({
      pinned: false,
      reason: 'git reference "@main" is a branch or tag, which can move; only a full commit id pins',
    });
    expect(one('b @ git+ssh://git@github.com/a/b.git@0123456789abcdef0123456789abcdef01234567')).toMatchObject({
      pinned: true,
      reason: 'git commit 0123456789ab',
    });
    expect(one('b @ git+https://github.com/a/b.git@0123abc')).toMatchObject({ pinned: false });
    expect(one('https://download.pytorch.org/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl')).toMatchObject({
      name: 'torch',
      pinned: true,
      reason: 'wheel file name fixes version 2.1.0+cpu',
    });
    expect(one('./vendor/mylib')).toMatchObject({ pinned: false, reason: 'local path: its contents are not fixed' });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a requirements line naming an environment variable
    expect(one('torch==${TORCH_VERSION}')).toMatchObject({
      pinned: false,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the reader's words quote it
      reason: 'depends on the environment variable ${TORCH_VERSION}',
    });
  });

  it('invalid versions and impossible specs are problems pip would refuse', () => {
    expect(parseRequirementSpec('numpy==1.2.x', 'r.txt', 1).problem).toBe('==1.2.x: "1.2.x" is not a PEP 440 version');
    expect(parseRequirementSpec('numpy==1.2,>2', 'r.txt', 1).problem).toBe('no version satisfies ==1.2,>2');
  });
});

describe('parsePipRequirements (pip requirement file format)', () => {
  it('numbers lines as in the file, joins continuations, strips comments', () => {
    const f = parsePipRequirements(
      '# header\n\ntorch>=2.0\nnumpy==1.26.4 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n    # via torch\nscipy==1.11.1  # pinned\n',
      'requirements.txt',
    );
    expect(f.requirements.map((x) => [x.name, x.line, x.pinned, x.hashes ?? 0])).toEqual([
      ['torch', 3, false, 0],
      ['numpy', 4, true, 2],
      ['scipy', 8, true, 0],
    ]);
    expect(f.problems).toEqual([]);
  });

  it('options: -r/-c includes listed, index options skipped, editables judged, unknown options refused', () => {
    const f = parsePipRequirements(
      '--index-url https://x\n--extra-index-url https://y\n-r base.txt\n--requirement=sub/dev.txt\n-c constraints.txt\n-e ./local\n-e git+https://github.com/a/b.git@v1#egg=b\n--frobnicate\n',
      'requirements.txt',
    );
    expect(f.includes).toEqual([
      { kind: 'requirement', target: 'base.txt', line: 3 },
      { kind: 'requirement', target: 'sub/dev.txt', line: 4 },
      { kind: 'constraint', target: 'constraints.txt', line: 5 },
    ]);
    expect(f.requirements.map((r) => [r.spec, r.pinned, r.reason])).toEqual([
      ['-e ./local', false, 'editable install of a local folder: its contents are not fixed'],
      [
        '-e git+https://github.com/a/b.git@v1#egg=b',
        false,
        'git reference "@v1" is a branch or tag, which can move; only a full commit id pins',
      ],
    ]);
    expect(f.problems).toEqual([{ line: 8, message: 'unknown option --frobnicate (pip refuses this line)' }]);
  });

  it('requirementIncludes: run-relative targets, resolved against the including file, escapes left out', () => {
    expect(
      requirementIncludes(
        '-r base.txt\n-c ../constraints.txt\n--requirement https://x/r.txt\n-r ../../etc/passwd\n',
        'reqs/requirements.txt',
      ),
    ).toEqual(['reqs/base.txt', 'constraints.txt']);
    expect(requirementIncludes('-rbase.txt\n--constraint=c.txt\n')).toEqual(['base.txt', 'c.txt']);
  });
});

describe('parseEnvironmentYml', () => {
  const env =
    'name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.11.2\n  - numpy=1.26.4=py311h_0\n  - "scipy==1.11.1"\n  - pytorch>=2.0\n  - cudatoolkit\n  - conda-forge::onnx=1.14.0\n  - pip\n  - pip:\n      - torch==2.1.0\n      - requests>=2\n';

  it('pins conda "=" / "==" / build strings; pip sub-list follows pip rules; file line numbers', () => {
    const r = parseEnvironmentYml(env, 'environment.yml').requirements;
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
    expect(() => parseEnvironmentYml('dependencies: [a\n', 'environment.yml')).toThrow(
      /^environment\.yml is not valid YAML: /,
    );
    expect(() => parseEnvironmentYml('name: x\n', 'environment.yml')).toThrow(
      'environment.yml: expected a "dependencies" list',
    );
    expect(() => parseEnvironmentYml('', 'environment.yml')).toThrow('environment.yml: expected a "dependencies" list');
  });

  it('refuses a YAML alias bomb', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
      'dependencies: [numpy==1]',
    ].join('\n');
    expect(() => parseEnvironmentYml(bomb, 'environment.yml')).toThrow(/environment\.yml is not valid YAML/);
  });
});
