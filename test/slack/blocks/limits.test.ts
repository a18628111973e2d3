import { describe, expect, it } from 'vitest';
import { escapeEvidence, escapeMrkdwn, joinLines, truncate, truncateWithPointer } from '../../../src/slack/blocks/limits.js';

describe('limits helpers', () => {
  it('truncate keeps short text and cuts long text to the limit with an ellipsis', () => {
    expect(truncate('abc', 3)).toBe('abc');
    const t = truncate('x'.repeat(5000), 3000);
    expect(t.length).toBe(3000);
    expect(t.endsWith('…')).toBe(true);
  });

  it('truncate never splits a surrogate pair', () => {
    const t = truncate('a' + '😀'.repeat(10), 4);
    expect(t.length).toBeLessThanOrEqual(4);
    expect(() => encodeURIComponent(t)).not.toThrow();
  });

  it('truncateWithPointer appends the pointer and stays within the limit', () => {
    const t = truncateWithPointer('y'.repeat(4000), 3000, 'see `/readiness report r`');
    expect(t.length).toBeLessThanOrEqual(3000);
    expect(t.endsWith('(see `/readiness report r`)')).toBe(true);
    expect(truncateWithPointer('short', 3000, 'p')).toBe('short');
  });

  it('escapes mrkdwn control characters but keeps our own user mentions', () => {
    expect(escapeMrkdwn('<!channel> & <x>')).toBe('&lt;!channel&gt; &amp; &lt;x&gt;');
    expect(escapeEvidence('approved by <@U123ABC> <!here>')).toBe('approved by <@U123ABC> &lt;!here&gt;');
  });

  it('joinLines stops at the limit and counts what it left out', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'z'.repeat(50)}`);
    const t = joinLines(lines, 500, (n) => `… ${n} more`);
    expect(t.length).toBeLessThanOrEqual(500);
    expect(t).toMatch(/… \d+ more$/);
    expect(joinLines(['a', 'b'], 500, (n) => `${n}`)).toBe('a\nb');
  });
});
