import { describe, expect, it } from 'vitest';
import { ReadinessConfigSchema } from '../../src/config/readiness-config.js';
import { ApproverDirectory, type UsergroupClient } from '../../src/slack/auth.js';

function client(groups: Record<string, string[]>): UsergroupClient & { calls: string[]; failNext: boolean } {
  const c = {
    calls: [] as string[],
    failNext: false,
    usergroups: {
      users: {
        list: async ({ usergroup }: { usergroup: string }) => {
          c.calls.push(usergroup);
          if (c.failNext) {
            c.failNext = false;
            throw new Error('ratelimited');
          }
          return { ok: true, users: groups[usergroup] ?? [] };
        },
      },
    },
  };
  return c;
}

const config = ReadinessConfigSchema.parse({
  roles: { technical: { users: ['U0TECH'], usergroups: ['S0LEADS'] }, compliance: { usergroups: ['S0LEGAL'] } },
});

describe('ApproverDirectory', () => {
  it('authorises listed users and user-group members per role only', async () => {
    const c = client({ S0LEADS: ['U0LEAD'], S0LEGAL: ['U0LAW', 'U0LEAD'] });
    const dir = new ApproverDirectory(config, c);
    expect(await dir.isApprover('U0TECH', 'technical')).toBe(true);
    expect(await dir.isApprover('U0LEAD', 'technical')).toBe(true);
    expect(await dir.isApprover('U0LAW', 'technical')).toBe(false);
    expect(await dir.isApprover('U0TECH', 'product')).toBe(false);
    expect(await dir.isApprover('U0LAW', 'compliance')).toBe(true);
    expect(await dir.rolesOf('U0LEAD')).toEqual(['technical', 'compliance']);
  });

  it('caches a group for the TTL, shares concurrent lookups, and does not cache failures', async () => {
    let now = 0;
    const c = client({ S0LEADS: ['U0LEAD'] });
    const dir = new ApproverDirectory(config, c, { ttlMs: 60_000, now: () => now });
    await Promise.all([
      dir.isApprover('U0LEAD', 'technical'),
      dir.isApprover('U0X', 'technical'),
      dir.isApprover('U0Y', 'technical'),
    ]);
    expect(c.calls).toEqual(['S0LEADS']);
    now = 59_000;
    await dir.isApprover('U0LEAD', 'technical');
    expect(c.calls).toHaveLength(1);
    now = 61_000;
    await dir.isApprover('U0LEAD', 'technical');
    expect(c.calls).toHaveLength(2);
    now = 200_000;
    c.failNext = true;
    await expect(dir.isApprover('U0LEAD', 'technical')).rejects.toThrow('ratelimited');
    expect(await dir.isApprover('U0LEAD', 'technical')).toBe(true);
    expect(c.calls).toHaveLength(4);
  });

  it('trusts a member list for exactly the TTL (default 5 minutes) from when it was asked for', async () => {
    let now = 1_000_000;
    const c = client({ S0LEADS: ['U0LEAD'] });
    const dir = new ApproverDirectory(config, c, { now: () => now });
    await dir.isApprover('U0LEAD', 'technical');
    now += 5 * 60_000 - 1;
    await dir.isApprover('U0LEAD', 'technical');
    expect(c.calls).toHaveLength(1);
    now += 1;
    await dir.isApprover('U0LEAD', 'technical');
    expect(c.calls).toHaveLength(2);
  });

  it('a group Slack answers without members authorises nobody; clear() forgets every group', async () => {
    const c = client({});
    const bare: UsergroupClient = { usergroups: { users: { list: async () => ({ ok: true }) } } };
    expect(await new ApproverDirectory(config, bare).isApprover('U0LEAD', 'technical')).toBe(false);
    const dir = new ApproverDirectory(config, c, { now: () => 0 });
    expect(await dir.isApprover('U0LEAD', 'technical')).toBe(false);
    dir.clear();
    expect(await dir.isApprover('U0LEAD', 'technical')).toBe(false);
    expect(c.calls).toEqual(['S0LEADS', 'S0LEADS']);
  });

  it('a late failure of an outdated lookup does not evict the newer cached member list', async () => {
    let now = 0;
    let failFirst: (e: Error) => void = () => {};
    let calls = 0;
    const c: UsergroupClient = {
      usergroups: {
        users: {
          list: () => {
            calls++;
            if (calls === 1) return new Promise((_, reject) => (failFirst = reject));
            return Promise.resolve({ ok: true, users: ['U0LEAD'] });
          },
        },
      },
    };
    const dir = new ApproverDirectory(config, c, { ttlMs: 1000, now: () => now });
    const first = dir.isApprover('U0LEAD', 'technical');
    now = 2000; // the pending lookup is outdated: a new one is made and cached
    expect(await dir.isApprover('U0LEAD', 'technical')).toBe(true);
    failFirst(new Error('timed out'));
    await expect(first).rejects.toThrow('timed out');
    expect(await dir.isApprover('U0LEAD', 'technical')).toBe(true);
    expect(calls).toBe(2);
  });
});
