import type { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignoffTimerJob } from '../../src/queue/reminders.js';
import type { EvaluationState } from '../../src/store/types.js';
import { FakeSlack, type RecordedCall, waitFor } from '../helpers/fake-slack.js';
import { buttonClick, interactionBody, signedHeaders } from '../helpers/slack-sign.js';
import {
  blockText,
  buttons,
  CHANNEL,
  DEFAULT_CONFIG,
  type Harness,
  liveEvaluation,
  NOTIFY,
  SECRET,
  U,
  useHarness,
} from './harness.js';

const HOUR = 3_600_000;

/** The app's clock, moved by the test only. */
let clockMs = Date.UTC(2026, 0, 5, 9, 0, 0);
const clock = (): number => clockMs;

function threadPosts(h: Harness, state: EvaluationState): RecordedCall[] {
  const ts = state.evaluation.message?.ts;
  return h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === CHANNEL && c.args.thread_ts === ts);
}

/** DMs to `user` (about evaluation `id`, when given). */
function dmsTo(h: Harness, user: string, id?: string): RecordedCall[] {
  return h.fake
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === user && (id === undefined || JSON.stringify(c.args.blocks).includes(id)));
}

async function clickFrom(h: Harness, user: string, actionId: string, value: string, channel: string): Promise<void> {
  const body = interactionBody(buttonClick({ user, actionId, value, channel }));
  const res = await h.post(body, signedHeaders(SECRET, body));
  expect(res.status).toBe(200);
}

async function timerJob(h: Harness, kind: 'remind' | 'escalate', id: string): Promise<Job<SignoffTimerJob>> {
  return waitFor(() => h.runtime.signoffTimers.queue.getJob(`${kind}__${id}`), `the ${kind} job`);
}

/** Runs a delayed job now (as if its delay had passed) and waits until the worker has dealt with it. */
async function promote(h: Harness, job: Job<SignoffTimerJob>): Promise<string> {
  await job.promote();
  return waitFor(async () => {
    const fresh = await h.runtime.signoffTimers.queue.getJob(String(job.id));
    const st = await fresh?.getState();
    // delayed again (early on the app's clock) once it has been processed, or completed
    const processed = (fresh?.attemptsStarted ?? 0) > (job.attemptsStarted ?? 0);
    return st === 'completed' || (st === 'delayed' && processed) ? st : null;
  }, `job ${job.id} processed`);
}

describe('approvers are asked by name when sign-off opens, reminded and escalated on the injected clock', () => {
  const h = useHarness({
    config: {
      ...DEFAULT_CONFIG,
      signoff: { ask_by_dm: true, remind_after_hours: 24, escalate_after_hours: 48 },
    },
    clock,
  });
  afterEach(() => {
    clockMs += 1000 * HOUR;
  });

  it('asked once, in the thread with live user and group mentions and by DM with working buttons; never before sign-off opens; not again after a restart', async () => {
    const opened = clockMs;
    const { state, value } = await liveEvaluation(h);
    const ask = await waitFor(() => threadPosts(h, state)[0], 'the ask in the thread');
    // not before: the first update with live buttons came before the ask, and nothing was in the thread until then
    const liveUpdate = h.fake
      .callsOf('chat.update')
      .find((c) => c.args.ts === state.evaluation.message?.ts && buttons(c.args.blocks).size > 0);
    expect(liveUpdate).toBeDefined();
    expect(ask.seq).toBeGreaterThan(liveUpdate?.seq ?? Number.POSITIVE_INFINITY);
    const text = `${String(ask.args.text)}\n${blockText(ask.args.blocks)}`;
    for (const m of [`<@${U.tech}>`, '<!subteam^S0TECHLEADS>', `<@${U.prod}>`, `<@${U.comp}>`])
      expect(text).toContain(m);
    expect(text).not.toContain(`<@${U.requester}>`);
    expect(text).toContain('Technical Lead');
    expect(text).toContain('Compliance');

    // DMs: every configured approver and the user group's member, each once, with the same buttons
    await waitFor(() => [U.tech, U.prod, U.comp, U.lead2].every((u) => dmsTo(h, u).length > 0), 'the DMs');
    for (const u of [U.tech, U.prod, U.comp, U.lead2]) expect(dmsTo(h, u)).toHaveLength(1);
    expect(dmsTo(h, U.requester)).toHaveLength(0);
    expect(dmsTo(h, U.outsider)).toHaveLength(0);
    const techDm = dmsTo(h, U.tech)[0];
    // U0TECH may sign technical and product: both roles' buttons, carrying the gate message's value
    expect([...buttons(techDm?.args.blocks).keys()].sort()).toEqual([
      'signoff_approve_product',
      'signoff_approve_technical',
      'signoff_reject_product',
      'signoff_reject_technical',
    ]);
    const compDm = dmsTo(h, U.comp)[0];
    const dmValue = buttons(compDm?.args.blocks).get('signoff_approve_compliance');
    expect(dmValue).toBe(value);
    expect(blockText(compDm?.args.blocks)).toContain(
      FakeSlack.permalinkOf(CHANNEL, state.evaluation.message?.ts ?? ''),
    );

    // a click on the DM copy is a sign-off like any other (checked again at click time)
    await clickFrom(h, U.comp, 'signoff_approve_compliance', dmValue as string, 'D0COMPDM');
    await waitFor(
      () =>
        h.fake
          .callsOf('chat.postEphemeral')
          .find(
            (c) =>
              c.args.user === U.comp && c.args.channel === 'D0COMPDM' && String(c.args.text).includes('You approved'),
          ),
      'the answer in the DM',
    );
    const after = await h.store.getState(state.evaluation.id);
    expect(after?.signoffs.map((s) => [s.role, s.user])).toEqual([['compliance', U.comp]]);
    // an outsider clicking a forwarded DM button is refused as in the channel
    await clickFrom(h, U.outsider, 'signoff_approve_technical', dmValue as string, 'D0OUTDM');
    await waitFor(() => h.ephemeralsTo(U.outsider).some((t) => t.includes('not an approver')), 'the refusal');

    // re-renders and an app restart ask nobody again
    await h.runtime.renderer.idle();
    await h.stopApp();
    await h.startApp();
    await h.runtime.renderer.idle();
    await h.runtime.renderer.idle();
    expect(threadPosts(h, state)).toHaveLength(1);
    for (const u of [U.tech, U.prod, U.comp, U.lead2]) expect(dmsTo(h, u)).toHaveLength(1);

    // the reminder and the escalation are scheduled on the app's clock from when sign-off opened
    const remind = await timerJob(h, 'remind', state.evaluation.id);
    const escalate = await timerJob(h, 'escalate', state.evaluation.id);
    expect(remind.data).toMatchObject({ kind: 'remind', openedAt: opened, dueAt: opened + 24 * HOUR });
    expect(escalate.data).toMatchObject({ kind: 'escalate', openedAt: opened, dueAt: opened + 48 * HOUR });
    expect(remind.delay).toBe(24 * HOUR);
    expect(escalate.delay).toBe(48 * HOUR);
    expect(await remind.getState()).toBe('delayed');
  }, 120_000);

  it('the reminder comes at remind_after_hours (not a minute before), the escalation at escalate_after_hours naming the missing roles; the PASSED notice links the gate message in its thread', async () => {
    const opened = clockMs;
    const { state, value } = await liveEvaluation(h);
    const id = state.evaluation.id;
    await waitFor(() => threadPosts(h, state).length === 1, 'the ask');
    await waitFor(() => dmsTo(h, U.comp, id).length === 1, 'the DMs');
    const remind = await timerJob(h, 'remind', id);

    // promoted a minute early: the app's clock says not yet, so nothing is sent and it waits again
    clockMs = opened + 24 * HOUR - 60_000;
    expect(await promote(h, remind)).toBe('delayed');
    expect(threadPosts(h, state)).toHaveLength(1);

    clockMs = opened + 24 * HOUR;
    expect(await promote(h, remind)).toBe('completed');
    const reminder = await waitFor(() => threadPosts(h, state)[1], 'the reminder');
    const rtext = blockText(reminder.args.blocks);
    expect(rtext).toContain('Reminder');
    expect(rtext).toContain('24 hours');
    for (const m of [`<@${U.tech}>`, '<!subteam^S0TECHLEADS>', `<@${U.prod}>`, `<@${U.comp}>`])
      expect(rtext).toContain(m);
    await waitFor(() => dmsTo(h, U.comp, id).length === 2, 'the reminder DMs');
    expect(blockText(dmsTo(h, U.comp, id)[1]?.args.blocks)).toContain('Reminder');
    expect(dmsTo(h, U.requester, id)).toHaveLength(0);

    // two roles signed; compliance still missing at 48 h
    await h.click(U.lead2, 'signoff_approve_technical', value);
    await waitFor(() => h.ephemeralsTo(U.lead2).some((t) => t.includes('You approved')), 'technical approval');
    await h.click(U.prod, 'signoff_approve_product', value);
    await waitFor(() => h.ephemeralsTo(U.prod).some((t) => t.includes('You approved')), 'product approval');
    const escalate = await timerJob(h, 'escalate', id);
    clockMs = opened + 48 * HOUR;
    const notifyBefore = h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === NOTIFY).length;
    expect(await promote(h, escalate)).toBe('completed');
    const escalation = await waitFor(
      () => h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === NOTIFY)[notifyBefore],
      'the escalation',
    );
    const etext = blockText(escalation.args.blocks);
    expect(etext).toContain('Sign-off overdue');
    expect(etext).toContain('48 hours');
    expect(etext).toContain('Compliance');
    expect(etext).not.toContain('Technical Lead');
    expect(etext).not.toContain('Product Owner');
    expect(etext).toContain(`Requested by <@${U.requester}>`);
    const permalink = FakeSlack.permalinkOf(CHANNEL, state.evaluation.message?.ts ?? '');
    expect(etext).toContain(`<${permalink}|View the gate message>`);
    expect(escalation.args.thread_ts).toBeUndefined();

    // the outcome about the same evaluation replies in that thread (and is shown in the channel)
    await h.click(U.comp, 'signoff_approve_compliance', value);
    const passed = await waitFor(
      () =>
        h.fake
          .callsOf('chat.postMessage')
          .find(
            (c) => c.args.channel === NOTIFY && String(c.args.text).includes('Gate PASSED') && c.seq > escalation.seq,
          ),
      'the PASSED notification',
    );
    const escalationTs = [...h.fake.messages.values()].find(
      (m) => m.channel === NOTIFY && m.text === escalation.args.text,
    )?.ts;
    expect(passed.args.thread_ts).toBe(escalationTs);
    expect(String(passed.args.reply_broadcast)).toBe('true');
    const ptext = blockText(passed.args.blocks);
    expect(ptext).toContain(`Requested by <@${U.requester}>`);
    expect(ptext).toContain(`<${permalink}|View the gate message>`);
    expect(h.fake.callsOf('chat.getPermalink').some((c) => c.args.message_ts === state.evaluation.message?.ts)).toBe(
      true,
    );
    // exactly one reminder and one escalation
    await h.runtime.renderer.idle();
    expect(threadPosts(h, state)).toHaveLength(2);
  }, 180_000);

  it('nothing is sent for a gate that no longer waits: PASSED before the reminder and the escalation are due', async () => {
    const opened = clockMs;
    const { state, value } = await liveEvaluation(h);
    const id = state.evaluation.id;
    await waitFor(() => threadPosts(h, state).length === 1, 'the ask');
    await h.click(U.lead2, 'signoff_approve_technical', value);
    await h.click(U.prod, 'signoff_approve_product', value);
    await h.click(U.comp, 'signoff_approve_compliance', value);
    await waitFor(async () => (await h.store.getState(id))?.gate === 'passed', 'PASSED');
    await h.runtime.renderer.idle();
    const callsBefore = h.fake.callsOf('chat.postMessage').length;
    clockMs = opened + 24 * HOUR;
    const remind = await timerJob(h, 'remind', id);
    expect(await promote(h, remind)).toBe('completed');
    clockMs = opened + 48 * HOUR;
    const escalate = await timerJob(h, 'escalate', id);
    expect(await promote(h, escalate)).toBe('completed');
    expect((await h.runtime.signoffTimers.queue.getJob(`remind__${id}`))?.returnvalue).toEqual({
      kind: 'done',
      sent: false,
    });
    expect((await h.runtime.signoffTimers.queue.getJob(`escalate__${id}`))?.returnvalue).toEqual({
      kind: 'done',
      sent: false,
    });
    expect(h.fake.callsOf('chat.postMessage').length).toBe(callsBefore);
    expect(threadPosts(h, state)).toHaveLength(1);
  }, 120_000);
});

describe('without a notification channel, updates about an evaluation go to its gate message thread', () => {
  const h = useHarness(() => {
    const { notification_channel: _, ...config } = DEFAULT_CONFIG;
    return { config, clock };
  });

  it('the PASSED notice is a reply in the gate message thread, broadcast to the channel, naming the requester with a permalink; no DMs unless configured', async () => {
    const { state, value } = await liveEvaluation(h);
    await waitFor(() => threadPosts(h, state).length === 1, 'the ask');
    expect(dmsTo(h, U.tech)).toHaveLength(0);
    await h.click(U.lead2, 'signoff_approve_technical', value);
    await h.click(U.prod, 'signoff_approve_product', value);
    await h.click(U.comp, 'signoff_approve_compliance', value);
    const passed = await waitFor(
      () => threadPosts(h, state).find((c) => String(c.args.text).includes('Gate PASSED')),
      'the PASSED notice in the thread',
    );
    expect(String(passed.args.reply_broadcast)).toBe('true');
    const text = blockText(passed.args.blocks);
    expect(text).toContain(`Requested by <@${U.requester}>`);
    expect(text).toContain(FakeSlack.permalinkOf(CHANNEL, state.evaluation.message?.ts ?? ''));
    // one top-level message in the channel: the gate message
    const top = h.fake.callsOf('chat.postMessage').filter((c) => c.args.channel === CHANNEL && !c.args.thread_ts);
    expect(top).toHaveLength(1);
  }, 120_000);
});
