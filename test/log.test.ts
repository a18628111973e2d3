import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { LogLevel, WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../src/log.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; raw: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  return {
    stream,
    raw: () => buf,
    lines: () =>
      buf
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const BOT = 'xoxb-1234567890-abcdefABCDEF';
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

describe('logger', () => {
  it('writes pino JSON with ids and redacts tokens and secrets in fields, nested headers and free text', () => {
    const out = capture();
    const log = createLogger({ level: 'info' }, out.stream);
    log.info(
      {
        evaluation: 'ev1',
        request_id: 'r1',
        token: BOT,
        config: { signingSecret: SECRET, SLACK_BOT_TOKEN: BOT },
        req: { headers: { authorization: `Bearer ${BOT}`, 'x-slack-signature': 'v0=abc' } },
      },
      `calling chat.update with ${BOT}`,
    );
    log.error({ err: new Error(`auth failed for ${BOT}`) }, 'boom');
    const raw = out.raw();
    expect(raw).not.toContain(BOT);
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain('v0=abc');
    const [first, second] = out.lines();
    expect(first).toMatchObject({
      evaluation: 'ev1',
      request_id: 'r1',
      token: '[REDACTED]',
      msg: 'calling chat.update with xoxb-[REDACTED]',
    });
    expect((second!.err as { message: string }).message).toBe('auth failed for xoxb-[REDACTED]');
  });

  it('scrubs app tokens and redis URL passwords', () => {
    expect(scrubSecrets('xapp-1-A0-123-abc and redis://:hunter2@redis:6379/0')).toBe(
      'xapp-[REDACTED] and redis://:[REDACTED]@redis:6379/0',
    );
  });
});

describe('logged errors', () => {
  async function echoServer(status: number): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      // a misbehaving proxy or API that echoes the request's credentials in its error body
      const echoed = {
        ok: false,
        error: 'invalid_auth',
        echoed_headers: { authorization: req.headers.authorization },
        detail: `rejected ${req.headers.authorization ?? ''}`,
      };
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-echo-authorization': String(req.headers.authorization),
      });
      res.end(JSON.stringify(echoed));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/api/`, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  for (const [status, kind] of [
    [200, 'platform error (ok: false, body in err.data)'],
    [500, 'HTTP error (body and headers in err.body / err.headers)'],
  ] as const) {
    it(`redacts a token echoed inside a Web API ${kind}`, async () => {
      const srv = await echoServer(status);
      try {
        const client = new WebClient(BOT, {
          slackApiUrl: srv.url,
          retryConfig: { retries: 0 },
          logLevel: LogLevel.ERROR,
          logger: {
            debug() {},
            info() {},
            warn() {},
            error() {},
            setLevel() {},
            getLevel: () => LogLevel.ERROR,
            setName() {},
          },
        });
        const err = await client.chat.postMessage({ channel: 'C1', text: 'hi' }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(Error);
        // the token really is in the error object, somewhere below message/stack
        expect(JSON.stringify(err, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString() : v))).toContain(BOT);
        const out = capture();
        const log = createLogger({ level: 'info' }, out.stream);
        log.error({ err, evaluation: 'ev1', nested: { cause: err } }, 'chat.postMessage failed');
        log.warn(err as Error, 'as the first argument');
        const raw = out.raw();
        expect(raw).not.toContain(BOT.slice(5));
        expect(raw).toContain('[REDACTED]');
        const [first] = out.lines();
        expect(first).toMatchObject({ evaluation: 'ev1', msg: 'chat.postMessage failed' });
        expect((first!.err as { message: string }).message).toBeTruthy();
        expect((first!.err as { type: string }).type).toMatch(/^WebAPI(Platform|HTTP)Error$/);
      } finally {
        await srv.close();
      }
    });
  }

  it('censors credential-named fields at any depth and survives cycles', () => {
    const cfg: Record<string, unknown> = {
      headers: { Authorization: 'opaque-value-123', 'X-Api-Key': 'k-999' },
      client_secret: 'cs-777',
      ok: true,
    };
    cfg.self = cfg;
    const err = Object.assign(new Error('request failed'), {
      config: cfg,
      response: { data: { access_token: 'at-555' } },
    });
    const out = capture();
    createLogger({}, out.stream).error({ err }, 'x');
    const raw = out.raw();
    for (const secret of ['opaque-value-123', 'k-999', 'cs-777', 'at-555']) expect(raw).not.toContain(secret);
    expect(raw).toContain('[Circular]');
    expect(out.lines()[0]).toMatchObject({ err: { message: 'request failed', config: { ok: true } } });
  });

  it('censors the Slack signing secret in child bindings and in objects interpolated into the message', () => {
    const out = capture();
    const log = createLogger({}, out.stream);
    log
      .child({
        signingSecret: SECRET,
        SLACK_SIGNING_SECRET: SECRET,
        settings: { signingSecret: SECRET },
        env: { SLACK_SIGNING_SECRET: SECRET },
      })
      .info({ config: { SLACK_SIGNING_SECRET: SECRET } }, 'starting with %o', { signingSecret: SECRET });
    expect(out.raw()).not.toContain(SECRET);
    expect(out.lines()[0]).toMatchObject({
      signingSecret: '[REDACTED]',
      SLACK_SIGNING_SECRET: '[REDACTED]',
      settings: { signingSecret: '[REDACTED]' },
      env: { SLACK_SIGNING_SECRET: '[REDACTED]' },
      config: { SLACK_SIGNING_SECRET: '[REDACTED]' },
      msg: 'starting with {"signingSecret":"[REDACTED]"}',
    });
  });

  it('censors credentials in child bindings at any depth and under any credential name, not only the fixed paths', () => {
    const out = capture();
    createLogger({}, out.stream)
      .child({
        component: 'oauth',
        client: { client_secret: 'cs-binding-1', nested: { apiKey: 'ak-binding-2' } },
        note: 'xoxb-1-binding-3',
      })
      .info('ready');
    const raw = out.raw();
    for (const secret of ['cs-binding-1', 'ak-binding-2', 'binding-3']) expect(raw).not.toContain(secret);
    expect(out.lines()[0]).toMatchObject({
      component: 'oauth',
      client: { client_secret: '[REDACTED]', nested: { apiKey: '[REDACTED]' } },
    });
  });
});
