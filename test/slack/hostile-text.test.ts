import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { FakeSlack, type RecordedCall, waitFor } from '../helpers/fake-slack.js';
import { mutateText } from '../helpers/runs.js';
import { liveSequences, strings } from '../helpers/slack-text.js';
import { NOTIFY, ONE_APPROVER_PER_ROLE, U, useHarness } from './harness.js';

/** Text an attacker who writes the run's files would like to see in Slack, live. */
const HOSTILE =
  '<!channel> <!here> <!everyone> <!subteam^S0TECHLEADS|@leads> <@U0VICTIM> <#C0GENERAL> <https://evil.example/approve|Approve here> @here https://evil.example mailto:ceo@evil.example';

/** mrkdwn objects of a call's payload. */
function mrkdwnObjects(v: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(v)) for (const x of v) mrkdwnObjects(x, out);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.type === 'mrkdwn') out.push(o);
    for (const x of Object.values(o)) mrkdwnObjects(x, out);
  }
  return out;
}

describe('artifact text never becomes a live mention, broadcast or link in Slack', () => {
  const h = useHarness({
    checks: AUTOMATED_CHECKS.filter((c) => !c.heavy),
    config: ONE_APPROVER_PER_ROLE,
  });
  beforeAll(async () => {
    await writeFile(path.join(h.runDir, 'readiness.yml'), `model_name: ${JSON.stringify(HOSTILE)}\n`);
    await mutateText(h.runDir, 'final_report.md', (t) =>
      t.replace('| KI-2 |', `| KI-9 | P0 | open | ${HOSTILE.replace(/\|/g, '\\|')} |\n| KI-2 |`),
    );
  });

  it('a run with a hostile model_name and hostile evidence: every payload of every call is inert except the app’s own mentions', async () => {
    await h.command(U.requester, `run ${h.runName}`);
    const posted = await h.postedEvaluation();
    expect(posted.evaluation.policy.policy.model_name).toBe(HOSTILE);
    const notice = await waitFor(
      () => h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === NOTIFY),
      'the BLOCKED notification',
      60_000,
    );
    expect(String(notice.args.text)).toContain('Gate BLOCKED');
    // the other surfaces: status and report replies, App Home
    await h.command(U.requester, `status ${h.runName}`);
    await h.command(U.requester, `report ${h.runName}`);
    await h.homeOpened(U.requester);
    await waitFor(() => h.fake.callsOf('response_url').length >= 1, 'the status reply');
    await waitFor(() => h.fake.callsOf('views.publish').length >= 1, 'App Home');
    await waitFor(
      () =>
        h.fake.callsOf('chat.postMessage').some((c) => String(c.args.text).startsWith('Readiness report')) ||
        h.fake.uploads.length > 0,
      'the report',
    );

    const own = new Set([`<@${U.requester}>`, `<@${U.tech}>`, `<@${U.prod}>`, `<@${U.comp}>`]);
    const ownLinks = h.fake
      .callsOf('chat.getPermalink')
      .map(
        (c) => `<${FakeSlack.permalinkOf(String(c.args.channel), String(c.args.message_ts))}|View the gate message>`,
      );
    const offending: { method: string; seq: number; found: string[] }[] = [];
    let sawHostile = 0;
    const calls: RecordedCall[] = h.fake.calls.filter(
      (c) => c.method !== 'auth.test' && c.method !== 'usergroups.users.list',
    );
    expect(calls.length).toBeGreaterThan(5);
    for (const call of calls) {
      for (const s of strings(call.args)) {
        if (s.includes('evil') || s.includes('VICTIM')) sawHostile++;
        // the app's own links to its gate message: exactly the permalinks Slack gave it
        const inert = ownLinks.reduce((t, l) => t.replaceAll(l, ''), s);
        const bad = liveSequences(inert).filter((x) => !own.has(x));
        if (bad.length > 0) offending.push({ method: call.method, seq: call.seq, found: bad });
      }
      for (const m of mrkdwnObjects(call.args))
        expect(m.verbatim, `${call.method} #${call.seq}: every mrkdwn object is verbatim`).toBe(true);
    }
    expect(offending).toEqual([]);
    // the hostile text did reach Slack (escaped), in the fallback text, blocks and notification
    expect(sawHostile).toBeGreaterThan(5);
    expect(String(notice.args.text)).toContain('&lt;!channel&gt;');
    // and the app's own mentions stay live
    expect(strings(h.message(posted).blocks).join('\n')).toContain(`<@${U.requester}>`);
  }, 120_000);
});
