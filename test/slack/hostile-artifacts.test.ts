/**
 * Hostile artifacts in the Slack flow (real Bolt receiver over HTTP, real Redis, real worker
 * process): an evaluation whose training.log is a FIFO and one whose ONNX model is a node bomb in
 * an If subgraph both end BLOCKED, while a good evaluation submitted after them completes.
 */
import { execFileSync } from 'node:child_process';
import { cp, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitForChecks } from '../../src/evaluations/wait.js';
import type { EvaluationState } from '../../src/store/types.js';
import { waitFor } from '../helpers/fake-slack.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';
import { modelWithIf, nodeBombGraph } from '../onnx/build.js';
import { blockText, U, useHarness } from './harness.js';

const h = useHarness({ renderIntervalMs: 200 });

beforeAll(async () => {
  const fifoRun = path.join(h.artifactRoot, 'fifo-run');
  await cp(EXAMPLE_RUN, fifoRun, { recursive: true });
  await unlink(path.join(fifoRun, 'results/production/training.log'));
  execFileSync('mkfifo', [path.join(fifoRun, 'results/production/training.log')]);
  const bombRun = path.join(h.artifactRoot, 'bomb-run');
  await cp(EXAMPLE_RUN, bombRun, { recursive: true });
  await writeFile(path.join(bombRun, 'models/production_model.onnx'), modelWithIf(nodeBombGraph(30_000_000)));
  await cp(EXAMPLE_RUN, path.join(h.artifactRoot, 'good-run'), { recursive: true });
});

async function submitted(run: string): Promise<EvaluationState> {
  const r = await h.command(U.requester, `run ${run}`);
  expect(r.status).toBe(200);
  return waitFor(
    async () => {
      const s = await h.store.latestForRun(run);
      return s?.evaluation.message ? s : null;
    },
    `the gate message of ${run}`,
    60_000,
  );
}

describe('hostile artifacts through /readiness run', () => {
  it('a FIFO training.log and a node-bomb model end BLOCKED; a good evaluation submitted after them completes', async () => {
    const t0 = performance.now();
    const fifo = await submitted('fifo-run');
    const bomb = await submitted('bomb-run');
    const good = await submitted('good-run');

    const fifoState = await waitForChecks(h.store, fifo.evaluation.id, { timeoutMs: 240_000 });
    expect(fifoState.gate).toBe('blocked');
    const training = fifoState.checks.find((c) => c.id === 'training.completed');
    expect(training).toMatchObject({ status: 'fail', security: true });
    expect(training?.evidence.join(' ')).toMatch(
      /results\/production\/training\.log is a FIFO \(named pipe\), not a regular file/,
    );

    const bombState = await waitForChecks(h.store, bomb.evaluation.id, { timeoutMs: 240_000 });
    expect(bombState.gate).toBe('blocked');
    for (const id of ['export.parity', 'export.inference', 'export.provenance']) {
      const c = bombState.checks.find((x) => x.id === id);
      expect(c?.status, id).toBe('fail');
      expect(c?.security, id).toBe(true);
      expect(c?.evidence.join(' '), id).toMatch(
        /the model declares 30000002 nodes \(30,000,001 of them inside subgraphs\), more than the limit of 250000/,
      );
    }

    const goodState = await waitForChecks(h.store, good.evaluation.id, { timeoutMs: 240_000 });
    expect(goodState.checks.filter((c) => c.status !== 'pass' && c.status !== 'warn').map((c) => c.id)).toEqual([]);
    expect(goodState.gate).toBe('pending'); // only the sign-offs are left

    // the gate messages say so
    for (const s of [fifoState, bombState]) {
      await waitFor(
        () => (blockText(h.message(s).blocks).includes('BLOCKED') ? true : null),
        'a BLOCKED gate message',
        30_000,
      );
    }
    await waitFor(
      () =>
        blockText(h.message(goodState).blocks).includes('0 failed · sign-offs pending: technical, product, compliance')
          ? true
          : null,
      'the good gate message',
      30_000,
    );
    expect(h.workers?.alive).toBe(true);
    expect((performance.now() - t0) / 1000).toBeLessThan(300);
  }, 320_000);
});
