import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/fake-slack.js';
import { U, useHarness } from './harness.js';

describe('/readiness rerun <run> <check-id>', () => {
  const h = useHarness();

  const responses = () => h.fake.callsOf('response_url').map((c) => JSON.stringify(c.args));
  const finished = async (id: string) => {
    const s = await h.store.getState(id);
    return s?.checks.every((c) => c.status !== 'pending' && c.status !== 'running') ? s : null;
  };

  it('runs just that check again on the same evaluation when the artifacts are unchanged', async () => {
    await h.command(U.requester, `run ${h.runName}`);
    const posted = await h.postedEvaluation();
    const done = await waitFor(() => finished(posted.evaluation.id), 'the first evaluation to finish', 90_000);
    const firstLatency = done.checks.find((c) => c.id === 'export.inference')!;
    expect(firstLatency.status).toBe('pass');

    const before = responses().length;
    const res = await h.command(U.requester, `rerun ${h.runName} export.inference`);
    expect(res.status).toBe(200);
    await waitFor(
      () =>
        responses().length > before &&
        responses()
          .slice(before)
          .some((r) => r.includes('runs again on the same artifacts')),
      'the rerun answer',
    );

    const again = await waitFor(
      async () => {
        const audit = await h.store.readAudit({ evaluation: posted.evaluation.id });
        const rerunAt = audit.findIndex((a) => a.type === 'check_rerun');
        const resultAfter = audit
          .slice(rerunAt + 1)
          .some((a) => a.type === 'check_result' && a.data.check === 'export.inference');
        return rerunAt >= 0 && resultAfter ? finished(posted.evaluation.id) : null;
      },
      'the rerun result',
      90_000,
    );
    // same evaluation, no new one; only the latency check ran again
    expect((await h.store.latestForRun(h.runName))!.evaluation.id).toBe(posted.evaluation.id);
    expect(again.checks.find((c) => c.id === 'export.inference')!.status).toBe('pass');
    const audit = await h.store.readAudit({ evaluation: posted.evaluation.id });
    const results = audit.filter((a) => a.type === 'check_result');
    expect(results.filter((a) => a.data.check === 'export.inference')).toHaveLength(2);
    expect(results.filter((a) => a.data.check === 'export.parity')).toHaveLength(1);
  });

  it('creates a new evaluation instead when the artifacts changed', async () => {
    const current = (await h.store.latestForRun(h.runName))!;
    await appendFile(path.join(h.runDir, 'docs/deployment_guide.md'), '\nEdited after the evaluation.\n');
    const before = responses().length;
    await h.command(U.requester, `rerun ${h.runName} export.inference`);
    await waitFor(
      () =>
        responses()
          .slice(before)
          .some((r) => r.includes('A new evaluation was created') && r.includes('changed since evaluation')),
      'the new-evaluation answer',
    );
    const next = await waitFor(async () => {
      const s = await h.store.latestForRun(h.runName);
      return s && s.evaluation.id !== current.evaluation.id ? s : null;
    }, 'the new evaluation');
    expect(next.evaluation.digest).not.toBe(current.evaluation.digest);
    expect(next.evaluation.supersedes).toBe(current.evaluation.id);
  });
});
