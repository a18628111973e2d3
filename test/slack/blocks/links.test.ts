import { describe, expect, it } from 'vitest';
import { messageLink, messageLinkText } from '../../../src/slack/blocks/links.js';

describe('messageLink', () => {
  it('drops the dot of the ts and pads or cuts its fraction to six digits', () => {
    expect(messageLink({ channel: 'C0GATE', ts: '1700000000.123456' })).toBe(
      'https://slack.com/archives/C0GATE/p1700000000123456',
    );
    expect(messageLink({ channel: 'G12', ts: '17.1' })).toBe('https://slack.com/archives/G12/p17100000');
    expect(messageLink({ channel: 'D0AB', ts: '1.12345678' })).toBe('https://slack.com/archives/D0AB/p1123456');
  });

  it('is null without a message or for anything but a channel id and a message ts', () => {
    expect(messageLink(null)).toBeNull();
    expect(messageLink(undefined)).toBeNull();
    for (const channel of ['X0GATE', 'C0', 'c0gate', 'C0GATE/../x', ' C0GATE', 'C0GATE ', '']) {
      expect(messageLink({ channel, ts: '1700000000.123456' }), channel).toBeNull();
    }
    for (const ts of [
      '1700000000',
      '.123',
      '1700000000.',
      '1700000000.123456789',
      '1234567890123.1',
      'x1.1',
      '1.1x',
      '1,1',
    ]) {
      expect(messageLink({ channel: 'C0GATE', ts }), ts).toBeNull();
    }
    // the longest accepted parts
    expect(messageLink({ channel: 'C0GATE', ts: '123456789012.12345678' })).toBe(
      'https://slack.com/archives/C0GATE/p123456789012123456',
    );
  });
});

describe('messageLinkText', () => {
  const ref = { channel: 'C0GATE', ts: '1700000000.123456' };

  it('links the label, without the characters that would end the link early', () => {
    expect(messageLinkText(ref, 'gate | message > here')).toBe(
      '<https://slack.com/archives/C0GATE/p1700000000123456|gate  message  here>',
    );
    expect(messageLinkText(ref, 'a|b|c>>d')).toBe('<https://slack.com/archives/C0GATE/p1700000000123456|abcd>');
  });

  it('falls back to the label, or to the fallback given, when there is no message', () => {
    expect(messageLinkText(null, 'gate message')).toBe('gate message');
    expect(messageLinkText({ channel: 'nope', ts: '1.1' }, 'gate message', 'the gate message (not posted yet)')).toBe(
      'the gate message (not posted yet)',
    );
  });
});
