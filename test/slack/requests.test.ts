import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/fake-slack.js';
import { buttonClick, commandBody, interactionBody, signedHeaders, slackSignature } from '../helpers/slack-sign.js';
import { blockText, CHANNEL, SECRET, U, useHarness } from './harness.js';

describe('requests: signatures, retries, usage errors, status and report', () => {
  const h = useHarness();

  /**
   * Nothing was taken in and nothing was sent. A request is written to the intake before it is
   * acked, so one wrongly accepted is in the intake queue (completed ones are kept an hour) by the
   * time its response arrives: no waiting needed.
   */
  async function nothingHappened(): Promise<void> {
    const counts = await h.runtime.intake.queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
      'completed',
      'failed',
    );
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await h.evaluations()).toEqual([]);
    // Bolt's own authorisation (auth.test) is not a side effect of the request
    expect(h.fake.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
  }

  it('forged signature, stale timestamp and tampered body get 401 and nothing happens', async () => {
    const body = commandBody({ text: `run ${h.runName}`, user_id: U.requester, response_url: h.fake.responseUrl() });
    const forged = await h.post(body, {
      ...signedHeaders(SECRET, body),
      'x-slack-signature': slackSignature('wrong-secret', Math.floor(Date.now() / 1000), body),
    });
    expect(forged.status).toBe(401);
    const staleTs = Math.floor(Date.now() / 1000) - 6 * 60;
    const stale = await h.post(body, signedHeaders(SECRET, body, { timestamp: staleTs }));
    expect(stale.status).toBe(401);
    const headers = signedHeaders(SECRET, body);
    const tampered = await h.post(body.replace(encodeURIComponent(U.requester), 'U0MALLORY'), headers);
    expect(tampered.status).toBe(401);
    const unsigned = await h.post(body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(unsigned.status).toBe(401);
    await nothingHappened();
  });

  it('usage errors and refused run paths are answered ephemerally in the ack, without I/O', async () => {
    for (const [text, msg] of [
      ['deploy now', 'unknown subcommand'],
      ['run ../../etc', '".."'],
      ['run /etc/passwd', 'absolute'],
      ['run x --target 150', 'between 0 and 100'],
    ] as const) {
      const res = await h.command(U.requester, text);
      expect(res.status).toBe(200);
      const ack = JSON.parse(res.text) as { response_type: string; text: string };
      expect(ack.response_type).toBe('ephemeral');
      expect(ack.text).toContain(msg);
    }
    const help = JSON.parse((await h.command(U.requester, 'help')).text) as { text: string; blocks: unknown[] };
    expect(blockText(help.blocks)).toContain('/readiness rerun <run> [check-id]');
    await nothingHappened();
  });

  it('a run name that escapes the artifact root through a symlink, or does not exist, is refused in the ack, before any promise of a gate message', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'readiness-outside-'));
    await symlink(outside, path.join(h.artifactRoot, 'escape'));
    for (const [run, refusal] of [
      ['escape', 'outside the artifact root'],
      ['does-not-exist', 'run "does-not-exist" not found under the artifact root'],
    ] as const) {
      const ack = JSON.parse((await h.command(U.requester, `run ${run}`)).text) as {
        response_type: string;
        text: string;
      };
      expect(ack.response_type).toBe('ephemeral');
      expect(ack.text).toContain(refusal);
      expect(ack.text).not.toContain('Evaluating');
    }
    expect(h.fake.callsOf('response_url').map((c) => String(c.args.text))).not.toContainEqual(
      expect.stringContaining('Evaluating'),
    );
    expect(await h.evaluations()).toEqual([]);
  });

  it('a Slack retry of the same command (same trigger, X-Slack-Retry-Num) creates one evaluation', async () => {
    const trigger = '777.888.retry-trigger';
    const first = await h.command(U.requester, `run ${h.runName}`, { triggerId: trigger });
    const retried = await Promise.all([
      h.command(U.requester, `run ${h.runName}`, { triggerId: trigger, retryNum: 1 }),
      h.command(U.requester, `run ${h.runName}`, { triggerId: trigger, retryNum: 2 }),
    ]);
    expect([first.status, ...retried.map((r) => r.status)]).toEqual([200, 200, 200]);
    await h.postedEvaluation();
    await h.runtime.intake.idle();
    expect(await h.evaluations()).toHaveLength(1);
    expect(
      h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === CHANNEL && !c.args.thread_ts),
    ).toHaveLength(1);
  });

  it('Slack retries are recognised by the request id and audited as retries; a click delivered twice is one attempt, two clicks are two', async () => {
    const retries = (await h.store.readAudit()).filter((e) => e.type === 'slack_retry' && e.data.kind === 'command');
    // the two retried deliveries of the command above, both naming the one intake item
    expect(retries.map((e) => e.data.retry_num).sort()).toEqual([1, 2]);
    expect(new Set(retries.map((e) => e.data.intake)).size).toBe(1);

    const payload = buttonClick({
      user: U.outsider,
      actionId: 'signoff_approve_technical',
      value: 'not-a-signoff-value',
      channel: CHANNEL,
    });
    (payload.actions as { action_ts: string }[])[0]!.action_ts = '1700000123.000100';
    const body = interactionBody(payload);
    expect((await h.post(body, signedHeaders(SECRET, body))).status).toBe(200);
    expect((await h.post(body, signedHeaders(SECRET, body, { retryNum: 1 }))).status).toBe(200);
    // a second click of the same button: a new action ts
    const again = buttonClick({
      user: U.outsider,
      actionId: 'signoff_approve_technical',
      value: 'not-a-signoff-value',
      channel: CHANNEL,
    });
    (again.actions as { action_ts: string }[])[0]!.action_ts = '1700000124.000200';
    const body2 = interactionBody(again);
    expect((await h.post(body2, signedHeaders(SECRET, body2))).status).toBe(200);
    await waitFor(
      async () =>
        (await h.store.readAudit()).filter((e) => e.type === 'signoff_refused' && e.actor === U.outsider).length >= 2,
      'both clicks refused',
    );
    await h.runtime.intake.idle();
    const audit = await h.store.readAudit();
    expect(audit.filter((e) => e.type === 'signoff_refused' && e.actor === U.outsider)).toHaveLength(2);
    const clickRetries = audit.filter((e) => e.type === 'slack_retry' && e.data.kind === 'approve');
    expect(clickRetries).toHaveLength(1);
    expect(clickRetries[0]?.actor).toBe(U.outsider);
  });

  it('status answers ephemerally; report posts the markdown report (renderMarkdown) as a file', async () => {
    const state = await waitFor(
      async () => {
        const s = await h.store.latestForRun(h.runName);
        return s?.checks.every((c) => c.status === 'pass' || c.status === 'warn') ? s : null;
      },
      'the checks to finish',
      60_000,
    );
    await h.command(U.requester, `status ${h.runName}`);
    const status = await waitFor(
      () => h.fake.callsOf('response_url').find((c) => String(c.args.text).includes(`${h.runName}: ⏳ PENDING`)),
      'the status answer',
    );
    expect(status.args.response_type).toBe('ephemeral');
    expect(blockText(status.args.blocks)).toContain('waiting for signoff.technical');

    await h.command(U.requester, `report ${h.runName}`);
    const upload = await waitFor(() => h.fake.uploads[0], 'the report upload');
    expect(upload.content).toContain('# Production Readiness — ');
    expect(upload.content).toContain('## Final Sign-Off');
    expect(upload.content).toContain(state.evaluation.digest);
    // the upload is followed by files.completeUploadExternal, which shares it in the channel
    const complete = await waitFor(
      () => h.fake.callsOf('files.completeUploadExternal')[0],
      'the upload to be completed',
    );
    expect(complete.args.channel_id).toBe(CHANNEL);

    await h.command(U.requester, 'report never-evaluated');
    await waitFor(
      () =>
        h.fake
          .callsOf('response_url')
          .find((c) => String(c.args.text).includes('No evaluation of `never-evaluated` yet')),
      'the no-evaluation answer',
    );
  });
});
