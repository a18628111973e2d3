import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCompletion, findLosses, findTraceback, logLines, stripLogPrefix } from '../../src/parse/log.js';
import { REPO_ROOT } from '../helpers/runs.js';

const FIXTURES = path.join(REPO_ROOT, 'test/corpus/env/fixtures');

describe('stripLogPrefix', () => {
  it.each([
    [
      'docker logs -t + Python logging',
      '2026-11-27T13:36:59.123456789Z 2026-11-27 13:36:59 INFO Epoch 1/30 - train_loss: 2.0757',
      'Epoch 1/30 - train_loss: 2.0757',
    ],
    [
      'CRI log file + torchrun rank',
      '2026-11-27T13:36:59.123456789Z stdout F [rank0]: Traceback (most recent call last):',
      'Traceback (most recent call last):',
    ],
    [
      'torchrun --tee',
      '[default1]:2026-11-27 13:36:59,015 - trainer - INFO - Epoch 3/3 - train_loss: nan',
      'Epoch 3/3 - train_loss: nan',
    ],
    ['docker compose + logging.basicConfig default', 'trainer-1  | INFO:root:Training complete', 'Training complete'],
    ['Hydra', '[2026-11-27 13:36:59,123][__main__][INFO] - Epoch 1: loss=0.5', 'Epoch 1: loss=0.5'],
    ['loguru', '2026-11-27 13:36:59.123 | INFO     | train:main:42 - Training complete', 'Training complete'],
    ['absl / glog', 'I1127 13:36:59.123456 140234 train.py:88] val_loss: nan', 'val_loss: nan'],
    [
      'kubectl --prefix --timestamps',
      '[pod/trainer-0/trainer] 2026-11-27T13:36:59Z INFO Training complete',
      'Training complete',
    ],
    ['Lightning rank_zero', 'INFO: [rank: 0] Seed set to 42', 'Seed set to 42'],
    ['syslog', 'Nov 27 13:36:59 host trainer[123]: Epoch 1 loss: inf', 'Epoch 1 loss: inf'],
    ['OpenMPI --tag-output', '[1,0]<stdout>:Epoch 2 loss: 0.3', 'Epoch 2 loss: 0.3'],
    [
      'TensorFlow',
      '2026-11-27 13:36:59.123456: I tensorflow/core/platform/cpu_feature_guard.cc:193] This TensorFlow binary is optimized',
      'This TensorFlow binary is optimized',
    ],
    [
      'MMEngine',
      '2026/11/27 13:36:59 - mmengine - INFO - Epoch(train) [1][50/100] loss: nan',
      'Epoch(train) [1][50/100] loss: nan',
    ],
    [
      'DeepSpeed',
      '[2026-11-27 13:36:59,123] [INFO] [logging.py:96:log_dist] [Rank 0] step=10, loss=nan',
      'step=10, loss=nan',
    ],
    [
      'Ray Train worker',
      '(RayTrainWorker pid=1234, ip=10.0.0.1) Traceback (most recent call last):',
      'Traceback (most recent call last):',
    ],
    ['srun --label', '1: Training complete', 'Training complete'],
    ['plain message', "{'loss': 0.6931, 'epoch': 1.0}", "{'loss': 0.6931, 'epoch': 1.0}"],
  ])('%s', (_what, line, body) => {
    expect(stripLogPrefix(line)).toBe(body);
  });
});

describe('findLosses', () => {
  const losses = (text: string) => findLosses(logLines(text)).map((l) => [l.line, l.key, l.text, l.value]);

  it('reads every key/value form loggers write', () => {
    expect(
      losses(
        [
          "{'loss': 0.6931, 'grad_norm': nan, 'learning_rate': 5e-05, 'epoch': 1.0}",
          "{'eval_loss': nan, 'eval_accuracy': 0.1, 'epoch': 2.0}",
          'Epoch 3: 100%|██████████| 34/34 [00:01<00:00, 25.1it/s, v_num=0, train_loss=nan, val_loss=0.3]',
          ' 32/32 [==============================] - 1s 10ms/step - loss: nan - accuracy: 0.1000',
          'step 10 loss tensor(nan, grad_fn=<NllLossBackward0>)',
          "{'val_loss': np.float32(nan)}",
          '{"loss/train": -Infinity}',
          'epoch 4 loss 0.25',
        ].join('\n'),
      ),
    ).toEqual([
      // biome-ignore lint/suspicious/noApproximativeNumericConstant: a logged loss value, not ln 2
      [1, 'loss', '0.6931', 0.6931],
      [2, 'eval_loss', 'nan', Number.NaN],
      [3, 'train_loss', 'nan', Number.NaN],
      [3, 'val_loss', '0.3', 0.3],
      [4, 'loss', 'nan', Number.NaN],
      [5, 'loss', 'tensor(nan', Number.NaN],
      [6, 'val_loss', 'np.float32(nan)', Number.NaN],
      [7, 'loss/train', '-Infinity', Number.NEGATIVE_INFINITY],
      [8, 'loss', '0.25', 0.25],
    ]);
  });

  it('a "best so far" sentinel before training is not a loss; the same after training began is', () => {
    expect(losses('best_val_loss = inf\nmin_loss: inf\nEpoch 1 - val_loss: 0.5\n')).toEqual([
      [3, 'val_loss', '0.5', 0.5],
    ]);
    expect(losses('Epoch 1 - val_loss: 0.5\nbest_val_loss = inf\n')).toEqual([
      [1, 'val_loss', '0.5', 0.5],
      [2, 'best_val_loss', 'inf', Number.POSITIVE_INFINITY],
    ]);
    // NaN is never a sentinel.
    expect(losses('best_loss = nan\n')).toEqual([[1, 'best_loss', 'nan', Number.NaN]]);
  });

  it('ignores words that only contain nan/inf and keys that are not losses', () => {
    expect(
      losses(
        'Epoch 1 loss: inference done\nlossless compression: 3\nval_acc: nan\nKeras: val_loss improved from inf to 0.52\n',
      ),
    ).toEqual([]);
    expect(
      losses(
        '[deepspeed] OVERFLOW! Skipping step. Attempted loss scale: 65536, reducing to 32768\nloss_scale=inf\naux_loss_weight: 0.1\n',
      ),
    ).toEqual([]);
  });

  it('the real Python logging log with a dict NaN (Debian python3): NaN found at its line, the best_loss = inf sentinel skipped', () => {
    const text = readFileSync(path.join(FIXTURES, 'python-logging-dict-nan.log'), 'utf8');
    const found = findLosses(logLines(text)).filter((l) => !Number.isFinite(l.value));
    expect(found.map((l) => [l.line, l.key])).toEqual([
      [6, 'train_loss'],
      [6, 'val_loss'],
      [7, 'train_loss'],
    ]);
    expect(found[0]!.raw).toBe("{'epoch': 3, 'train_loss': nan, 'val_loss': nan}");
  });
});

describe('findTraceback / findCompletion', () => {
  it('finds tracebacks behind prefixes, and exception lines', () => {
    expect(findTraceback(logLines('ok\n[rank0]: Traceback (most recent call last):\n'))?.line).toBe(2);
    expect(
      findTraceback(
        logLines('2026-11-27T13:36:59Z torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n'),
      )?.line,
    ).toBe(1);
    expect(findTraceback(logLines('KeyboardInterrupt\n'))?.line).toBe(1);
    expect(findTraceback(logLines('INFO: no errors\nWARNING: UserWarning about something\n'))).toBeNull();
  });

  it('the real torchrun launcher crash log is a traceback at line 5', () => {
    const text = readFileSync(path.join(FIXTURES, 'torchrun-launcher-crash.log'), 'utf8');
    expect(findTraceback(logLines(text))?.line).toBe(5);
  });

  it('recognises completion lines (HF Trainer "Training completed.") but not negations', () => {
    expect(
      findCompletion(logLines('Training completed. Do not forget to share your model on huggingface.co/models =)\n'))
        ?.line,
    ).toBe(1);
    expect(findCompletion(logLines('[rank0]: Training complete: 30 epochs\n'))?.line).toBe(1);
    expect(
      findCompletion(logLines('Training incomplete\nTraining not complete\ntraining complete: false\n')),
    ).toBeNull();
  });
});
