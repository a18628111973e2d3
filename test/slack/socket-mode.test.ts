import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ReadinessConfigSchema } from '../../src/config/readiness-config.js';
import { connectRedis } from '../../src/queue/connection.js';
import { ReadinessQueues } from '../../src/queue/producer.js';
import { createSlackRuntime, type SlackRuntime } from '../../src/slack/app.js';
import { QueueSubmitter } from '../../src/slack/submit.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import type { EvaluationState } from '../../src/store/types.js';
import { freePort } from '../global-setup.js';
import { FakeSlack, waitFor } from '../helpers/fake-slack.js';
import { FakeSocketMode } from '../helpers/fake-socket-mode.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';
import { buttonClick, commandBody } from '../helpers/slack-sign.js';
import { WorkerProcess } from '../helpers/workers.js';
import { blockText, buttons, CHANNEL, DEFAULT_CONFIG, U } from './harness.js';

const RUN = 'run';

describe('Socket Mode: the app over a WebSocket (fake Slack endpoint), real Redis and a real worker', () => {
  const fake = new FakeSlack();
  const sockets = new FakeSocketMode();
  const config = ReadinessConfigSchema.parse(DEFAULT_CONFIG);
  const prefix = `t${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let store: EvaluationStore;
  let queues: ReadinessQueues;
  let workers: WorkerProcess | undefined;
  let runtime: SlackRuntime | undefined;
  let stopped = false;

  beforeAll(async () => {
    const artifactRoot = path.dirname(await copyExampleRun());
    redis = await connectRedis(inject('redisUrl'));
    store = new EvaluationStore(redis, { prefix });
    queues = new ReadinessQueues(redis, prefix);
    workers = await new WorkerProcess({ redisUrl: inject('redisUrl'), prefix, artifactRoot }).ready();
    await fake.start();
    fake.usergroups = { S0TECHLEADS: [U.lead2] };
    await sockets.start();
    fake.socketModeUrl = sockets.url;
    runtime = createSlackRuntime({
      // an app token and no signing secret: Socket Mode
      settings: {
        botToken: 'xoxb-test-token',
        appToken: 'xapp-1-test',
        apiUrl: fake.apiUrl,
        port: await freePort(),
        tokenVerification: false,
        retries: 0,
      },
      store,
      redisPrefix: prefix,
      config,
      submitter: new QueueSubmitter({ store, queues, config, artifactRoot }),
      log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      renderIntervalMs: 200,
      pollMs: 300,
    });
    await runtime.start();
  });

  afterAll(async () => {
    if (!stopped) await runtime?.stop().catch(() => {});
    await workers?.stop();
    await queues?.close();
    await sockets.stop();
    await fake.stop();
    redis?.disconnect();
    await cleanupRuns();
  });

  /** A slash command envelope's payload: the same fields as the HTTP slash command form. */
  function commandPayload(user: string, text: string): Record<string, string> {
    return Object.fromEntries(
      new URLSearchParams(commandBody({ text, user_id: user, response_url: fake.responseUrl(user) })),
    );
  }

  function ephemeralsTo(user: string): string[] {
    return fake
      .callsOf('chat.postEphemeral')
      .filter((c) => c.args.user === user)
      .map((c) => String(c.args.text));
  }

  let posted: EvaluationState;
  let value: string;

  it('start() opens the connection through apps.connections.open and waits for hello', () => {
    // runtime.start() resolved: the client got Slack's hello on the URL the Web API handed out
    expect(fake.callsOf('apps.connections.open')).toHaveLength(1);
    expect(sockets.connections).toHaveLength(1);
    expect(sockets.connections[0]?.path).toBe('/link/?ticket=test-ticket&app_id=A0TEST');
  });

  it('a /readiness run envelope is acked over the socket; the gate message is posted and fills in as checks finish', async () => {
    const envelope = sockets.slashCommand(commandPayload(U.requester, `run ${RUN}`));
    const ack = await waitFor(() => sockets.ackFor(envelope), 'the slash command ack on the socket');
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(String(ack.payload.text)).toContain('Evaluating');

    posted = await waitFor(async () => {
      const s = await store.latestForRun(RUN);
      return s?.evaluation.message ? s : null;
    }, 'the gate message to be posted');
    expect(posted.evaluation.requester).toBe(U.requester);
    expect(posted.evaluation.channel).toBe(CHANNEL);
    const first = fake.callsOf('chat.postMessage').find((c) => c.args.channel === CHANNEL);
    expect(first).toBeDefined();
    expect(buttons(first?.args.blocks).size).toBe(0);

    const ts = posted.evaluation.message?.ts ?? '';
    const live = await waitFor(
      () => {
        const m = fake.messages.get(ts);
        return m && buttons(m.blocks).size === 6 ? m : null;
      },
      'live sign-off buttons',
      60_000,
    );
    expect(live.updates).toBeGreaterThan(0);
    expect(blockText(live.blocks)).toContain(posted.evaluation.digest);
    value = buttons(live.blocks).get('signoff_approve_technical') as string;
    expect(value).toBeTruthy();
  });

  it("an approver's Approve click is acked and recorded; an outsider's is refused ephemerally and audited", async () => {
    const ts = posted.evaluation.message?.ts ?? '';
    const id = posted.evaluation.id;
    const click = (user: string, actionId: string): string =>
      sockets.interactive(
        buttonClick({ user, actionId, value, channel: CHANNEL, messageTs: ts, responseUrl: fake.responseUrl(user) }),
      );

    const approve = click(U.tech, 'signoff_approve_technical');
    expect((await waitFor(() => sockets.ackFor(approve), 'the approval ack')).payload).toEqual({});
    await waitFor(
      () => ephemeralsTo(U.tech).some((t) => t.includes('You approved the deployment as Technical Lead')),
      'the approval answer',
    );
    expect((await store.getState(id))?.signoffs.map((s) => `${s.role}:${s.user}:${s.decision}`)).toEqual([
      'technical:U0TECH:approved',
    ]);
    expect(
      (await store.readAudit({ evaluation: id })).filter((a) => a.type === 'signoff_recorded' && a.actor === U.tech),
    ).toHaveLength(1);
    await waitFor(
      () => blockText(fake.messages.get(ts)?.blocks).includes(`approved by <@${U.tech}>`),
      'the gate message to show the approval',
    );

    const outsider = click(U.outsider, 'signoff_approve_product');
    expect((await waitFor(() => sockets.ackFor(outsider), 'the outsider ack')).payload).toEqual({});
    await waitFor(() => ephemeralsTo(U.outsider).length > 0, 'the refusal');
    expect(ephemeralsTo(U.outsider)[0]).toContain('not an approver');
    const refused = (await store.readAudit({ evaluation: id })).filter(
      (a) => a.type === 'signoff_refused' && a.actor === U.outsider,
    );
    expect(refused.map((a) => a.data.reason)).toEqual(['not_authorised']);
    expect((await store.getState(id))?.signoffs.map((s) => s.role)).toEqual(['technical']);

    // every envelope was acked exactly once; nothing else came over the socket
    expect(sockets.acks.map((a) => a.envelope_id).sort()).toEqual(
      [...new Set(sockets.acks.map((a) => a.envelope_id))].sort(),
    );
    expect(sockets.acks).toHaveLength(3);
    expect(sockets.otherMessages).toEqual([]);
  });

  it('runtime.stop() closes the socket with a normal close handshake and does not reconnect', async () => {
    const conn = sockets.connections[0];
    expect(conn?.closeCode).toBeNull();
    await runtime?.stop();
    stopped = true;
    await waitFor(
      () => conn?.closeCode === 1000 && conn.ended,
      'the close handshake (code 1000) and the end of the connection',
    );
    expect(sockets.connections).toHaveLength(1);
    expect(fake.callsOf('apps.connections.open')).toHaveLength(1);
  });
});
