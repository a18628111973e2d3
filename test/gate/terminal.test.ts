import { describe, expect, it } from 'vitest';
import { isSettled, isTerminal, type TerminalInput } from '../../src/gate/terminal.js';

const D = 'a'.repeat(64);
const P = 'b'.repeat(64);
const evaluation = { superseded_by: null, digest: D, policy: { digest: P } };
const checks = [{ category: 'test' as const, status: 'fail' as const }];
type W = NonNullable<TerminalInput['waivers']>[number];
const waiver = (w: Partial<W> = {}): W => ({ status: 'approved', expired: false, digest: D, policy_digest: P, ...w });

describe('isSettled and isTerminal with waivers', () => {
  it('a PASSED gate standing on a waiver is settled (announced) but not terminal until the waiver expires', () => {
    const passed: TerminalInput = { evaluation, gate: 'passed', checks, waivers: [waiver()] };
    expect(isSettled(passed)).toBe(true);
    expect(isTerminal(passed)).toBe(false);
    expect(isTerminal({ ...passed, waivers: [waiver({ expired: true })] })).toBe(true);
    expect(isTerminal({ ...passed, waivers: [] })).toBe(true);
    expect(isTerminal({ evaluation, gate: 'passed', checks })).toBe(true);
  });

  it('a BLOCKED gate with a waiver awaiting approval is settled, not terminal; a rejected one or one of other digests keeps nothing open', () => {
    const blocked: TerminalInput = { evaluation, gate: 'blocked', checks, waivers: [waiver({ status: 'requested' })] };
    expect(isSettled(blocked)).toBe(true);
    expect(isTerminal(blocked)).toBe(false);
    expect(isTerminal({ ...blocked, waivers: [waiver({ status: 'rejected' })] })).toBe(true);
    expect(isTerminal({ ...blocked, waivers: [waiver({ digest: 'c'.repeat(64) })] })).toBe(true);
    expect(isTerminal({ ...blocked, waivers: [waiver({ policy_digest: 'c'.repeat(64) })] })).toBe(true);
  });

  it('superseded is terminal whatever its waivers; PENDING is neither', () => {
    expect(
      isTerminal({ evaluation: { ...evaluation, superseded_by: 'ev9' }, gate: 'passed', checks, waivers: [waiver()] }),
    ).toBe(true);
    const pending: TerminalInput = { evaluation, gate: 'pending', checks: [{ category: 'test', status: 'pass' }] };
    expect(isSettled(pending)).toBe(false);
    expect(isTerminal(pending)).toBe(false);
  });
});
