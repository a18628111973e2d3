import { Writable } from 'node:stream';
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
  return { stream, raw: () => buf, lines: () => buf.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const BOT = 'xoxb-1234567890-abcdefABCDEF';
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

describe('logger', () => {
  it('writes pino JSON with ids and redacts tokens and secrets in fields, nested headers and free text', () => {
    const out = capture();
    const log = createLogger({ level: 'info' }, out.stream);
    log.info({ evaluation: 'ev1', request_id: 'r1', token: BOT, config: { signingSecret: SECRET, SLACK_BOT_TOKEN: BOT }, req: { headers: { authorization: `Bearer ${BOT}`, 'x-slack-signature': 'v0=abc' } } }, `calling chat.update with ${BOT}`);
    log.error({ err: new Error(`auth failed for ${BOT}`) }, 'boom');
    const raw = out.raw();
    expect(raw).not.toContain(BOT);
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain('v0=abc');
    const [first, second] = out.lines();
    expect(first).toMatchObject({ evaluation: 'ev1', request_id: 'r1', token: '[REDACTED]', msg: 'calling chat.update with xoxb-[REDACTED]' });
    expect((second!.err as { message: string }).message).toBe('auth failed for xoxb-[REDACTED]');
  });

  it('scrubs app tokens and redis URL passwords', () => {
    expect(scrubSecrets('xapp-1-A0-123-abc and redis://:hunter2@redis:6379/0')).toBe('xapp-[REDACTED] and redis://:[REDACTED]@redis:6379/0');
  });
});
