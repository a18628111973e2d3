import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { type RecordedCall, waitFor } from '../helpers/fake-slack.js';
import { liveSequences, strings } from '../helpers/slack-text.js';
import { CHANNEL, ONE_APPROVER_PER_ROLE, U, useHarness } from './harness.js';

/** Run folder names a member who can create folders under the artifact root might pick. */
const MENTIONS = '<!channel> <!here> <@U0VICTIM> <!subteam^S0LEADS|@leads> @here';
/** Nested: the folder `<https:` holding `evil.example|Approve here>` (a path cannot hold "//"). */
const LINK = '<https:/evil.example|Approve here>';

describe('hostile run names in the requester’s DM and the report upload stay inert', () => {
  const h = useHarness({
    checks: AUTOMATED_CHECKS.filter((c) => !c.heavy),
    config: ONE_APPROVER_PER_ROLE,
  });
  beforeAll(async () => {
    await cp(h.runDir, path.join(h.artifactRoot, MENTIONS), { recursive: true });
    await mkdir(path.join(h.artifactRoot, '<https:'));
    await cp(h.runDir, path.join(h.artifactRoot, LINK), { recursive: true });
  });

  it('the "could not post the gate message" DM and the report upload’s comment: no live mention or link in any call', async () => {
    // the gate message cannot be posted in the channel: the requester is told in a DM naming the run
    h.fake.fail('chat.postMessage', { error: 'not_in_channel' }, 1, (a) => a.channel === CHANNEL);
    await h.command(U.requester, `run "${MENTIONS}"`);
    const dm = await waitFor(
      () => h.fake.callsOf('chat.postMessage').find((c) => c.args.channel === U.requester),
      'the DM to the requester',
      60_000,
    );
    expect(String(dm.args.text)).toContain('I could not post the gate message for');
    expect(String(dm.args.text)).toContain('&lt;!channel&gt; &lt;!here&gt; &lt;@');

    // the report of the other run, uploaded as a file with a comment naming the run
    await h.command(U.requester, `run "${LINK}"`);
    await waitFor(async () => (await h.store.latestForRun(LINK))?.evaluation.message ?? null, 'the gate message');
    await h.command(U.requester, `report "${LINK}"`);
    const upload = await waitFor(
      () => h.fake.callsOf('files.completeUploadExternal').at(-1),
      'the report upload (too long to show inline)',
      60_000,
    );
    expect(String(upload.args.initial_comment)).toContain('evil.example|Approve here&gt;');

    const own = new Set([`<@${U.requester}>`, `<@${U.tech}>`, `<@${U.prod}>`, `<@${U.comp}>`, `<#${CHANNEL}>`]);
    const offending: { method: string; seq: number; found: string[] }[] = [];
    let sawHostile = 0;
    const calls: RecordedCall[] = h.fake.calls.filter(
      (c) => c.method !== 'auth.test' && c.method !== 'usergroups.users.list',
    );
    for (const call of calls) {
      for (const s of strings(call.args)) {
        if (s.includes('VICTIM') || s.includes('evil.example')) sawHostile++;
        const bad = liveSequences(s).filter((x) => !own.has(x));
        if (bad.length > 0) offending.push({ method: call.method, seq: call.seq, found: bad });
      }
    }
    expect(offending).toEqual([]);
    // the names did reach Slack (escaped): the DM, the upload's comment and title, the gate messages, the acks' replies
    expect(sawHostile).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
