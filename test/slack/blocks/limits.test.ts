import { describe, expect, it } from 'vitest';
import {
  escapeMrkdwn,
  joinLines,
  mrkdwn,
  plain,
  truncate,
  truncateWithPointer,
} from '../../../src/slack/blocks/limits.js';

describe('limits helpers', () => {
  it('truncate keeps short text and cuts long text to the limit with an ellipsis', () => {
    expect(truncate('abc', 3)).toBe('abc');
    const t = truncate('x'.repeat(5000), 3000);
    expect(t.length).toBe(3000);
    expect(t.endsWith('…')).toBe(true);
  });

  it('truncate never splits a surrogate pair', () => {
    const t = truncate(`a${'😀'.repeat(10)}`, 4);
    expect(t.length).toBeLessThanOrEqual(4);
    expect(() => encodeURIComponent(t)).not.toThrow();
  });

  it('truncateWithPointer appends the pointer and stays within the limit', () => {
    const t = truncateWithPointer('y'.repeat(4000), 3000, 'see `/readiness report r`');
    expect(t.length).toBeLessThanOrEqual(3000);
    expect(t.endsWith('(see `/readiness report r`)')).toBe(true);
    expect(truncateWithPointer('short', 3000, 'p')).toBe('short');
  });

  it('escapes mrkdwn control characters: no mention, broadcast or link survives, not even one shaped like ours', () => {
    expect(escapeMrkdwn('<!channel> & <x>')).toBe('&lt;!channel&gt; &amp; &lt;x&gt;');
    expect(escapeMrkdwn('approved by <@U123ABC> <!here>').replace(/\u200b/g, '')).toBe(
      'approved by &lt;@U123ABC&gt; &lt;!here&gt;',
    );
    expect(escapeMrkdwn('<!subteam^S0ABC|@leads> <#C0GEN> <https://evil.example|Approve>')).not.toMatch(/[<>]/);
    // bare forms Slack parses without brackets (link_names, URL auto-linking) are broken up
    const bare = escapeMrkdwn('@here @channel see https://evil.example or www.evil.example, mailto:x@evil.example');
    expect(bare).not.toMatch(/@(here|channel|x)|https:\/\/|www\.|mailto:/);
    expect(bare.replace(/\u200b/g, '')).toBe(
      '@here @channel see https://evil.example or www.evil.example, mailto:x@evil.example',
    );
    // numbers and file names read as before
    expect(escapeMrkdwn('82.8% in results/metrics.json')).toBe('82.8% in results/metrics.json');
  });

  it('every mrkdwn object is verbatim; plain text breaks URLs and bare mentions', () => {
    expect(mrkdwn('x')).toEqual({ type: 'mrkdwn', text: 'x', verbatim: true });
    expect(plain('@here https://evil.example', 100).text).not.toMatch(/@here|https:\/\//);
  });

  it('joinLines stops at the limit and counts what it left out', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'z'.repeat(50)}`);
    const t = joinLines(lines, 500, (n) => `… ${n} more`);
    expect(t.length).toBeLessThanOrEqual(500);
    expect(t).toMatch(/… \d+ more$/);
    expect(joinLines(['a', 'b'], 500, (n) => `${n}`)).toBe('a\nb');
  });
});
