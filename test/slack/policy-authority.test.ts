import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { waitFor } from '../helpers/fake-slack.js';
import { blockText, DEFAULT_CONFIG, type Harness, NOTIFY, U, useHarness } from './harness.js';

/** Ephemeral replies sent through the commands' response_url (only the requester runs commands here). */
function replies(h: Harness): string[] {
  return h.fake.callsOf('response_url').map((c) => String(c.args.text ?? ''));
}

describe('/readiness run: the run and the flags may only tighten the team policy', () => {
  const h = useHarness({
    checks: AUTOMATED_CHECKS.filter((c) => !c.heavy),
    config: { ...DEFAULT_CONFIG, policies: { image: { target_accuracy: 85 } }, default_policy: 'image' },
  });

  it('--target below the team target: an ephemeral error naming the field, the team value and the attempt; no evaluation', async () => {
    await h.command(U.requester, `run ${h.runName} --target 50`);
    const reply = await waitFor(() => replies(h).find((t) => t.includes('target_accuracy')), 'the refusal');
    expect(reply).toContain('command-line flags: target_accuracy: may only be made stricter than the team policy');
    expect(reply).toContain('the team policy has 85, attempted 50');
    expect(await h.evaluations()).toEqual([]);
  });

  it("the run's readiness.yml loosening a threshold: refused the same way", async () => {
    await writeFile(path.join(h.runDir, 'readiness.yml'), 'latency:\n  requests: 1\n');
    await h.command(U.requester, `run ${h.runName}`);
    const reply = await waitFor(() => replies(h).find((t) => t.includes('latency.requests')), 'the refusal');
    expect(reply).toContain(
      'readiness.yml: latency.requests: may only be made stricter than the team policy (a higher value is stricter): the team policy has 1000, attempted 1',
    );
    expect(await h.evaluations()).toEqual([]);
  });

  it('tightening is applied and shown on the gate message, the notification and in the audit', async () => {
    await writeFile(path.join(h.runDir, 'readiness.yml'), 'model_name: Digits\ntarget_accuracy: 99.9\n');
    await h.command(U.requester, `run ${h.runName}`);
    const posted = await h.postedEvaluation();
    expect(posted.evaluation.policy.policy.target_accuracy).toBe(99.9);
    const line = 'target_accuracy: 85 → 99.9 (readiness.yml, stricter)';
    await waitFor(() => blockText(h.message(posted).blocks).includes(line), 'the override on the gate message');
    expect(blockText(h.message(posted).blocks)).toContain('*Run overrides of the team policy*');
    // 99.9 % is above the example's accuracy: blocked, and the notification says why the bar was higher
    const notice = await waitFor(
      () => h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === NOTIFY),
      'the BLOCKED notification',
      60_000,
    );
    expect(blockText(notice.args.blocks)).toContain(line);
    const created = (await h.store.readAudit({ evaluation: posted.evaluation.id })).find(
      (a) => a.type === 'evaluation_created',
    );
    expect(JSON.parse(String(created?.data.policy_overrides))).toEqual(
      expect.arrayContaining([line, 'model_name: null → "Digits" (readiness.yml)']),
    );
  }, 90_000);

  it('--target 0.9 is read as 90 % by the same rule as the CLI and the artifacts, and the ack says so', async () => {
    await rm(path.join(h.runDir, 'readiness.yml'), { force: true });
    const ack = JSON.parse((await h.command(U.requester, `run ${h.runName} --target 0.9`)).text) as { text: string };
    expect(ack.text).toContain('`--target 0.9` is read as a fraction: 90% (write `0.9%` for 0.9 percent).');
    const made = await waitFor(async () => {
      const s = await h.store.latestForRun(h.runName);
      return s?.evaluation.policy.policy.target_accuracy === 90 ? s : null;
    }, 'the evaluation with target 90');
    expect(made.evaluation.policy.policy.target_accuracy).toBe(90);
    // a percentage is taken as written and not remarked on
    const plain = JSON.parse((await h.command(U.requester, `run ${h.runName} --target 90.5`)).text) as { text: string };
    expect(plain.text).toContain('Evaluating');
    expect(plain.text).not.toContain('fraction');
  });
});
