import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { parseReadinessConfig, selectPolicyLayer } from '../../src/config/readiness-config.js';
import { resolvePolicy } from '../../src/policy/load.js';

describe('loadConfig', () => {
  it('parses the environment with defaults, treating empty strings as unset', () => {
    const c = loadConfig(
      { REDIS_URL: 'redis://127.0.0.1:7000', ARTIFACT_ROOT: '/runs', PORT: '', UNRELATED: 'x' },
      { need: ['REDIS_URL', 'ARTIFACT_ROOT'] },
    );
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:7000');
    expect(c.PORT).toBe(3000);
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.REDIS_MAXMEMORY_CHECK).toBe('refuse');
  });

  it('stops with the variable name and what was expected when a needed one is missing', () => {
    expect(() => loadConfig({}, { need: ['REDIS_URL'] })).toThrow(/REDIS_URL is not set; expected a redis:\/\/ URL/);
  });

  it('names an invalid variable without echoing secrets', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxp-secret-value' })).toThrow(
      /SLACK_BOT_TOKEN: expected a bot token starting with "xoxb-"/,
    );
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxp-secret-value' })).not.toThrow(/secret-value/);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL: expected a redis/);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT: expected a whole number between 1 and 65535/);
  });
});

describe('READINESS_CONFIG', () => {
  const yaml = `
notification_channel: C0NOTIFY
default_policy: image-classifier
roles:
  technical: { users: [U0TECH], usergroups: [S0LEADS] }
  product: { users: [U0PROD] }
required_roles: [technical, product]
policies:
  image-classifier:
    target_accuracy: 85
`;
  it('parses roles, defaults and named policies validated against the policy schema', async () => {
    const c = parseReadinessConfig(yaml, 'cfg.yml');
    expect(c.allow_self_approval).toBe(false);
    expect(c.one_role_per_person).toBe(true);
    expect(c.roles.technical?.usergroups).toEqual(['S0LEADS']);
    const layer = await selectPolicyLayer(c, undefined);
    const eff = resolvePolicy(layer ? [layer] : []);
    expect(eff.policy.name).toBe('image-classifier');
    expect(eff.policy.target_accuracy).toBe(85);
    expect(eff.policy.signoff.required_roles).toEqual(['technical', 'product']);
  });

  it('refuses an invalid policy naming the field, and unknown keys', () => {
    expect(() => parseReadinessConfig('policies:\n  p:\n    target_accuracy: 300\n', 'cfg.yml')).toThrow(
      /cfg.yml policies.p: target_accuracy/,
    );
    expect(() => parseReadinessConfig('rolez: {}\n', 'cfg.yml')).toThrow(/cfg.yml: .*rolez/);
    expect(() => parseReadinessConfig('default_policy: nope\n', 'cfg.yml')).toThrow(
      /default_policy: "nope" is not one of the policies/,
    );
  });

  it('refuses an unknown policy name', async () => {
    await expect(selectPolicyLayer(parseReadinessConfig(yaml, 'cfg.yml'), 'tabular')).rejects.toThrow(
      /policy "tabular" is not defined/,
    );
  });
});
