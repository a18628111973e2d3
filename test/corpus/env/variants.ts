import { readFileSync } from 'node:fs';
import path from 'node:path';
import { check as envSnapshot } from '../../../src/checks/repro-env-snapshot.js';
import { check as trainingCompleted } from '../../../src/checks/training-completed.js';
import type { CheckDefinition, CheckResult } from '../../../src/checks/types.js';
import { EXAMPLE_RUN, REPO_ROOT } from '../../helpers/runs.js';

/**
 * Run variants for the environment snapshot and the training log: copies of examples/digits-run
 * with requirements, environment, log and metrics files replaced or mutated. Benign variants (other
 * teams' tools and templates) must pass; defects must block. Each asserts the verdict and the
 * evidence with file:line.
 */

const FIX = path.join(REPO_ROOT, 'test/corpus/env/fixtures');
const fixture = (name: string) => readFileSync(path.join(FIX, name), 'utf8');
const LOG = 'results/production/training.log';
const METRICS = 'results/production/metrics.json';
const REQ = 'requirements.txt';
const ENV = 'environment.yml';
const exampleLog = readFileSync(path.join(EXAMPLE_RUN, LOG), 'utf8');
const exampleMetrics = readFileSync(path.join(EXAMPLE_RUN, METRICS), 'utf8');
const exampleReq = readFileSync(path.join(EXAMPLE_RUN, REQ), 'utf8');

const logLines = exampleLog.split('\n');
/** The example log with `f` applied to every non-empty line. */
const eachLogLine = (f: (l: string, i: number) => string) => logLines.map((l, i) => (l ? f(l, i) : l)).join('\n');
/** docker logs -t / kubectl logs --timestamps: RFC 3339 with nanoseconds before each line. */
const dockerTs = (i: number) => `2026-11-27T13:37:${String(i % 60).padStart(2, '0')}.${String(123456789 + i)}Z`;

export interface EnvVariant {
  name: string;
  check: CheckDefinition;
  files?: Record<string, string>;
  remove?: string[];
  status: CheckResult['status'];
  /** Every string must appear in the evidence. */
  evidence: string[];
}

const SHA = '4f0e9d7c2b1a3e5f6a7b8c9d0e1f2a3b4c5d6e7f';

export const ENV_BENIGN: EnvVariant[] = [
  {
    name: 'pip-compile --generate-hashes output (pip-tools README), hashes on continuation lines',
    check: envSnapshot,
    files: { [REQ]: fixture('pip-compile-generate-hashes.txt') },
    status: 'pass',
    evidence: [`${REQ}: all 3 packages pinned, 3 with --hash`],
  },
  {
    name: 'real pip-compile --generate-hashes --allow-unsafe output (pip-tools 6.13.0, Debian wheels): --find-links line, the unsafe section pinned',
    check: envSnapshot,
    files: { [REQ]: fixture('pip-compile-real-hashes.txt') },
    status: 'pass',
    evidence: [`${REQ}: all 3 packages pinned, 3 with --hash`],
  },
  {
    name: 'real pip-compile of a pyproject.toml: pip and setuptools left as comments under "considered to be unsafe"',
    check: envSnapshot,
    files: { [REQ]: fixture('pip-compile-real-pyproject.txt') },
    status: 'pass',
    evidence: [`${REQ}: all 1 packages pinned`],
  },
  {
    name: 'pip-compile split annotations (pip-tools test suite)',
    check: envSnapshot,
    files: { [REQ]: fixture('pip-compile-split-annotations.txt') },
    status: 'pass',
    evidence: [`${REQ}: all 2 packages pinned, 2 with --hash`],
  },
  {
    name: "real pip freeze from Debian's python3-pip (local version torch==1.13.0a0+gitunknown)",
    check: envSnapshot,
    files: { [REQ]: fixture('pip-freeze-debian.txt') },
    status: 'pass',
    evidence: [`${REQ}: all 45 packages pinned (numpy==1.24.2 at ${REQ}:21, torch==1.13.0a0+gitunknown at ${REQ}:40)`],
  },
  {
    name: '-r include and -c constraints inside the run pin an unpinned name',
    check: envSnapshot,
    files: { [REQ]: '-r reqs/base.txt\n-c constraints.txt\ntorch\n', 'reqs/base.txt': 'numpy==1.24.2\n-r ml.txt\n', 'reqs/ml.txt': 'scikit-learn==1.2.1\n', 'constraints.txt': 'torch==1.13.0\n' },
    status: 'pass',
    evidence: [`${REQ} (with reqs/base.txt, reqs/ml.txt, constraints.txt): all 3 packages pinned (torch==1.13.0 at constraints.txt:1 for ${REQ}:3, numpy==1.24.2 at reqs/base.txt:1, scikit-learn==1.2.1 at reqs/ml.txt:1)`],
  },
  {
    name: 'index options, markers, extras, local versions, a VCS commit and a hashed URL',
    check: envSnapshot,
    files: {
      [REQ]: `--extra-index-url https://download.pytorch.org/whl/cpu\n--only-binary=:all:\ntorch==2.1.0+cpu ; platform_system == "Linux"\nuvicorn[standard]==0.23.2\nvision @ git+https://github.com/acme/vision.git@${SHA}\nmylib @ https://example.com/mylib-1.0.tar.gz#sha256=${'ab'.repeat(32)}\n`,
    },
    status: 'pass',
    evidence: [`${REQ}: all 4 packages pinned (torch==2.1.0+cpu at ${REQ}:3)`],
  },
  {
    name: 'conda env export (name=version=build, prefix, pip: list) instead of requirements.txt',
    check: envSnapshot,
    remove: [REQ],
    files: { [ENV]: fixture('conda-env-export.yml') },
    status: 'pass',
    evidence: [`${ENV}: all 3 packages pinned (numpy=1.21.0=py39hdbf815f_0 at ${ENV}:6, onnx==1.12.0 at ${ENV}:8)`],
  },
  {
    name: 'environment.yml whose pip: list includes a requirements file inside the run',
    check: envSnapshot,
    remove: [REQ],
    files: { [ENV]: 'name: digits\ndependencies:\n  - python=3.11.2=h2755cc3_0_cpython\n  - pip:\n    - -r reqs/pip.txt\n', 'reqs/pip.txt': 'torch==1.13.0 --hash=sha256:' + 'ab'.repeat(32) + '\nonnx==1.12.0 \\\n    --hash=sha256:' + 'cd'.repeat(32) + '\n' },
    status: 'pass',
    evidence: [`${ENV} (with reqs/pip.txt): all 3 packages pinned, 2 with --hash (torch==1.13.0 at reqs/pip.txt:1, onnx==1.12.0 at reqs/pip.txt:2)`],
  },
  {
    name: 'conda env export --no-builds',
    check: envSnapshot,
    remove: [REQ],
    files: { [ENV]: fixture('conda-env-export-no-builds.yml') },
    status: 'pass',
    evidence: [`${ENV}: all 2 packages pinned (numpy=1.21.0 at ${ENV}:6)`],
  },
  {
    name: 'training log captured with docker logs -t (RFC 3339 nanosecond timestamps)',
    check: trainingCompleted,
    files: { [LOG]: eachLogLine((l, i) => `${dockerTs(i)} ${l}`) },
    status: 'pass',
    evidence: [`${LOG}:34: "${dockerTs(33)} 2026-11-27 13:37:05 INFO Training complete`, `30/30 epochs logged in ${LOG}`],
  },
  {
    name: 'real container log: the PyTorch training run in a podman container, read back with podman logs -t',
    check: trainingCompleted,
    files: { [LOG]: fixture('podman-logs-torch-training.log') },
    status: 'pass',
    evidence: [
      `${LOG}:12: "2026-12-01T17:29:47.473489461Z 2026-12-01 17:29:47,472 - train - INFO - Training complete: 5 epochs, best val_loss 0.6787"`,
      `5/5 epochs logged in ${LOG}`,
    ],
  },
  {
    name: 'real PyTorch training log (Debian python3-torch): logging lines, printed metric dicts, an inf sentinel before training',
    check: trainingCompleted,
    files: { [LOG]: fixture('torch-training.log') },
    status: 'pass',
    evidence: [`${LOG}:12: "2026-12-01 16:45:40,947 - train - INFO - Training complete: 5 epochs, best val_loss 0.6787"`, `5/5 epochs logged in ${LOG}`],
  },
  {
    name: 'torchrun [rank0]: prefixes, Hugging Face Trainer dict lines and "Training completed."',
    check: trainingCompleted,
    files: {
      [LOG]: [
        '[rank0]:***** Running training *****',
        ...Array.from({ length: 3 }, (_, i) => `[rank0]:{'loss': ${(0.9 - i * 0.2).toFixed(4)}, 'grad_norm': 1.5, 'learning_rate': 5e-05, 'epoch': ${i + 1}.0}`),
        "[rank0]:{'eval_loss': 0.2811, 'eval_accuracy': 0.9889, 'eval_runtime': 0.4, 'epoch': 3.0}",
        "[rank0]:{'train_runtime': 12.3, 'train_samples_per_second': 262.5, 'train_loss': 0.7, 'epoch': 3.0}",
        '[rank0]:Training completed. Do not forget to share your model on huggingface.co/models =)',
        '',
      ].join('\n'),
    },
    status: 'pass',
    evidence: [`${LOG}:7: "[rank0]:Training completed. Do not forget`],
  },
  {
    name: 'a best_val_loss = inf sentinel before training, and Keras "improved from inf" messages',
    check: trainingCompleted,
    files: { [LOG]: exampleLog.replace(/^(.*Epoch 1\/30)/m, '2026-11-27 13:36:59 INFO best_val_loss = inf\n2026-11-27 13:36:59 INFO val_loss improved from inf to 1.9758\n$1') },
    status: 'pass',
    evidence: [`${LOG}:36: "2026-11-27 13:37:05 INFO Training complete`],
  },
  {
    name: 'metrics.json history as per-epoch records, with a null where no value is expected',
    check: trainingCompleted,
    files: {
      [METRICS]: JSON.stringify(
        { val_acc: 98.89, notes: null, history: Array.from({ length: 30 }, (_, i) => ({ epoch: i + 1, train_loss: Number((2 - i * 0.06).toFixed(4)), val_loss: 0.5, lr_schedule: null })) },
        null,
        2,
      ),
    },
    status: 'pass',
    evidence: [`${METRICS}:4: history[].train_loss: 30 values, final 0.26`],
  },
  {
    name: 'Lightning progress-bar postfix and Python logging, real completion line',
    check: trainingCompleted,
    files: { [LOG]: eachLogLine((l) => l.replace(/INFO Epoch (\d+)\/30 - train_loss: ([\d.]+) - val_loss: ([\d.]+).*/, (_m, e: string, t: string, v: string) => `Epoch ${Number(e) - 1}: 100%|██████████| 34/34 [00:01<00:00, 25.1it/s, v_num=0, train_loss=${t}, val_loss=${v}]`)) },
    status: 'pass',
    evidence: [`${LOG}:34: "2026-11-27 13:37:05 INFO Training complete`],
  },
];

export const ENV_DEFECTS: EnvVariant[] = [
  {
    name: "a NaN loss written as a Python dict in the log: {'val_loss': nan, …}",
    check: trainingCompleted,
    files: { [LOG]: exampleLog.replace(/^(.*Epoch 30\/30.*)$/m, "$1\n{'epoch': 30, 'val_loss': nan, 'val_acc': 0.1}") },
    status: 'fail',
    evidence: [`${LOG}:34: non-finite loss: "{'epoch': 30, 'val_loss': nan, 'val_acc': 0.1}"`],
  },
  {
    name: 'the real Python logging log with a dict NaN (Debian python3)',
    check: trainingCompleted,
    files: { [LOG]: fixture('python-logging-dict-nan.log') },
    status: 'fail',
    evidence: [`${LOG}:6: non-finite loss: "{'epoch': 3, 'train_loss': nan, 'val_loss': nan}"`],
  },
  {
    name: 'real container log of the training whose loss diverged to nan (podman logs -t): the timestamps do not hide the nan',
    check: trainingCompleted,
    files: { [LOG]: fixture('podman-logs-torch-training-nan.log') },
    status: 'fail',
    evidence: [
      // the quoted line is cut at the evidence's length limit
      `${LOG}:8: non-finite loss: "2026-12-01T17:29:48.868283117Z 2026-12-01 17:29:48,868 - train - INFO - Epoch 4/5 - train_loss: 17326827759857825017625592201216.0000 - val_loss: nan`,
    ],
  },
  {
    name: 'real PyTorch training whose loss diverged to nan (Debian python3-torch, lr 1e6), though it logs "Training complete"',
    check: trainingCompleted,
    files: { [LOG]: fixture('torch-training-nan.log') },
    status: 'fail',
    evidence: [`${LOG}:8: non-finite loss: "2026-12-01 16:45:43,611 - train - INFO - Epoch 4/5 - train_loss: 17326827759857825017625592201216.0000 - val_loss: nan - val_acc: 0.5781"`],
  },
  {
    name: 'a traceback behind docker timestamps and torchrun [rank1]: prefixes',
    check: trainingCompleted,
    files: { [LOG]: `${eachLogLine((l, i) => `${dockerTs(i)} ${l}`)}${dockerTs(40)} [rank1]: Traceback (most recent call last):\n${dockerTs(41)} [rank1]:   File "train.py", line 88, in <module>\n${dockerTs(42)} [rank1]: RuntimeError: CUDA error: an illegal memory access was encountered\n` },
    status: 'fail',
    evidence: [`${LOG}:35: error in the log: "${dockerTs(40)} [rank1]: Traceback (most recent call last):"`],
  },
  {
    name: "the real torchrun launcher crash (Debian torch 1.13): no completion, a traceback",
    check: trainingCompleted,
    files: { [LOG]: fixture('torchrun-launcher-crash.log') },
    status: 'fail',
    evidence: [`${LOG}:5: error in the log: "Traceback (most recent call last):"`, `${LOG} has no "Training complete" line`],
  },
  {
    name: 'metrics.json written by a JavaScript/pandas writer: NaN became null in the loss history',
    check: trainingCompleted,
    files: { [METRICS]: exampleMetrics.replace(/0\.0817(\s*\])/, 'null$1') },
    status: 'fail',
    evidence: [`${METRICS}:52: history.train_loss[29] is null where a loss is expected`],
  },
  {
    name: 'metrics.json with the loss as the string "nan"',
    check: trainingCompleted,
    files: { [METRICS]: exampleMetrics.replace('"val_loss": 0.044064', '"val_loss": "nan"') },
    status: 'fail',
    evidence: [`${METRICS}:8: val_loss is "nan": NaN/Inf loss`],
  },
  {
    name: 'metrics.json nested 100 000 levels deep: refused before parsing',
    check: trainingCompleted,
    files: { [METRICS]: `{"history": ${'['.repeat(100_000)}` },
    status: 'error',
    evidence: [`${METRICS}:1: JSON nests deeper than 64 levels; refused before parsing`],
  },
  {
    name: 'ambiguous: a loss key written twice in metrics.json (NaN first, a good value after it)',
    check: trainingCompleted,
    files: { [METRICS]: exampleMetrics.replace('"val_loss": 0.044064,', '"val_loss": NaN,\n  "val_loss": 0.044064,') },
    status: 'error',
    evidence: [`ambiguous: val_loss is written twice in ${METRICS} (lines 8 and 9); which value was meant cannot be told`],
  },
  {
    name: 'a NaN at the end of a loss history of a million values',
    check: trainingCompleted,
    files: { [METRICS]: `{"history": {"train_loss": [\n${Array.from({ length: 1_000_000 }, (_, i) => (i === 999_999 ? 'NaN' : '0.5')).join(',\n')}\n]}}` },
    status: 'fail',
    evidence: [`${METRICS}:1000001: history.train_loss[999999] is NaN: NaN/Inf loss`],
  },
  {
    name: 'pip-compile output with one package loosened to a range',
    check: envSnapshot,
    files: { [REQ]: fixture('pip-compile-generate-hashes.txt').replace('django==4.1.7', 'django>=4.1') },
    status: 'fail',
    evidence: [`${REQ}: 1 of 3 packages not pinned to one version: ${REQ}:11 django>=4.1 (>=4.1 is a range)`],
  },
  {
    name: 'real pip-compile --generate-hashes output with setuptools loosened to a range by hand (its hash kept)',
    check: envSnapshot,
    files: { [REQ]: fixture('pip-compile-real-hashes.txt').replace('setuptools==66.1.1 \\', 'setuptools>=60 \\') },
    status: 'fail',
    evidence: [`${REQ}: 1 of 3 packages not pinned to one version: ${REQ}:17 setuptools>=60 (>=60 is a range)`],
  },
  {
    name: "a package added by hand to pip-compile --generate-hashes output, without hashes (pip's hash-checking mode refuses it)",
    check: envSnapshot,
    files: { [REQ]: `${fixture('pip-compile-generate-hashes.txt')}numpy==1.24.2\n` },
    status: 'fail',
    evidence: [`${REQ}:19: numpy has no --hash, but --hash at ${REQ}:7 puts pip in hash-checking mode, which refuses it`],
  },
  {
    name: 'an unpinned package in a file included with -r',
    check: envSnapshot,
    files: { [REQ]: `${exampleReq}-r reqs/extra.txt\n`, 'reqs/extra.txt': '# extras\nnumpy-financial>=1.0\n' },
    status: 'fail',
    evidence: [`reqs/extra.txt:2 numpy-financial>=1.0 (>=1.0 is a range)`],
  },
  {
    name: '-r include that leaves the run folder, and one that is missing',
    check: envSnapshot,
    files: { [REQ]: `${exampleReq}-r ../../shared/requirements.txt\n--requirement=missing.txt\n` },
    status: 'fail',
    evidence: [`${REQ}:10: -r ../../shared/requirements.txt: ../../shared/requirements.txt leaves the run folder; cannot be followed`, `${REQ}:11: -r missing.txt: missing.txt not found in the run`],
  },
  {
    name: 'a VCS reference to a branch, an abbreviated commit and an editable local folder',
    check: envSnapshot,
    files: { [REQ]: `${exampleReq}vision @ git+https://github.com/acme/vision.git@main\ntools @ git+https://github.com/acme/tools.git@4f0e9d7\n-e ./src\n` },
    status: 'fail',
    evidence: [
      `${REQ}:10 vision @ git+https://github.com/acme/vision.git@main (git reference "@main" is a branch or tag`,
      `${REQ}:11 tools @ git+https://github.com/acme/tools.git@4f0e9d7 (abbreviated commit id "4f0e9d7"`,
      `${REQ}:12 ./src -e ./src (editable install of a local folder: its contents are not fixed)`,
    ],
  },
  {
    name: 'wildcard and compatible-release pins hidden behind continuation lines',
    check: envSnapshot,
    files: { [REQ]: 'numpy==1.24.* \\\n    --hash=sha256:aaaa\nscipy~=1.10 \\\n    # via scikit-learn\n' },
    status: 'fail',
    evidence: [`${REQ}:1 numpy==1.24.* (wildcard ==1.24.* matches every 1.24.x release)`, `${REQ}:3 scipy~=1.10 (compatible release ~=1.10 allows later releases)`],
  },
  {
    name: 'environment.yml with conda fuzzy python=3.11 and an unpinned pip: entry',
    check: envSnapshot,
    remove: [REQ],
    files: { [ENV]: fixture('conda-env-export.yml').replace('python=3.9.7=h12debd9_0', 'python=3.11').replace('onnx==1.12.0', 'onnx') },
    status: 'fail',
    evidence: [`${ENV}:5 python=3.11 (=3.11 is conda's fuzzy 3.11*: every 3.11.x release)`, `${ENV}:8 onnx (no version given)`],
  },
  {
    name: 'ambiguous: the same package pinned twice to different versions',
    check: envSnapshot,
    files: { [REQ]: `${exampleReq}numpy==1.26.0\n` },
    status: 'error',
    evidence: [`ambiguous: numpy is required twice with different versions: ${REQ}:2 ==1.24.2 and ${REQ}:10 ==1.26.0`],
  },
  {
    name: 'ambiguous: requirements.txt and environment.yml pin different versions',
    check: envSnapshot,
    files: { [ENV]: 'dependencies:\n  - numpy=1.21.0=py39hdbf815f_0\n' },
    status: 'error',
    evidence: [`ambiguous: numpy is pinned to 1.24.2 at ${REQ}:2 but to 1.21.0 at ${ENV}:2; which environment was used cannot be told`],
  },
  {
    name: 'ambiguous: environment.yml pins numpy in conda and a different numpy in its pip: list',
    check: envSnapshot,
    remove: [REQ],
    files: { [ENV]: fixture('conda-env-export.yml').replace('      - onnx==1.12.0', '      - onnx==1.12.0\n      - numpy==1.24.2') },
    status: 'error',
    evidence: [`ambiguous: numpy is required twice with different versions: ${ENV}:6 =1.21.0=py39hdbf815f_0 and ${ENV}:9 ==1.24.2`],
  },
  {
    name: 'a --hash pip would refuse (md5) and an unknown option',
    check: envSnapshot,
    files: { [REQ]: `${exampleReq}requests==2.28.1 --hash=md5:0123456789abcdef\n--frobnicate\n` },
    status: 'fail',
    evidence: [`${REQ}:10: --hash=md5:0123456789abcdef is not algorithm:hexdigest`, `${REQ}:11: unknown option --frobnicate (pip refuses this line)`],
  },
];
