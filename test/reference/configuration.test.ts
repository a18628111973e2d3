import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReadinessConfig } from '../../src/config/readiness-config.js';
import { resolvePolicy } from '../../src/policy/load.js';
import { renderConfigurationReference } from '../../src/reference/configuration.js';
import { REPO_ROOT } from '../helpers/runs.js';

describe('configuration reference', () => {
  it('docs/configuration.md is exactly what the schemas generate (run `npm run docs:config` after changing a schema)', async () => {
    const committed = await readFile(path.join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
    expect(committed).toBe(renderConfigurationReference());
  });

  it('lists every environment variable of .env.example and every one .env.example should list', async () => {
    const { EnvSchema } = await import('../../src/config/env.js');
    const example = await readFile(path.join(REPO_ROOT, '.env.example'), 'utf8');
    const listed = new Set([...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]));
    for (const key of Object.keys(EnvSchema.shape)) expect(listed, `.env.example lacks ${key}`).toContain(key);
    const doc = renderConfigurationReference();
    for (const key of listed)
      if (key !== 'ARTIFACTS_DIR') expect(doc, `${key} is not a variable the schema knows`).toContain(`\`${key}\``);
  });

  it('config/readiness.example.yml is a valid READINESS_CONFIG whose policies resolve', async () => {
    const text = await readFile(path.join(REPO_ROOT, 'config/readiness.example.yml'), 'utf8');
    const config = parseReadinessConfig(text, 'config/readiness.example.yml');
    expect(Object.keys(config.policies)).toEqual(['image-classifier', 'fraud-model']);
    expect(
      resolvePolicy([{ source: 'fraud-model', data: config.policies['fraud-model'] }]).policy.target_accuracy,
    ).toBe(95);
  });

  it('a wrong config names the field and what was expected', () => {
    expect(() => parseReadinessConfig('roles:\n  technical:\n    users: [alice]\n', 'r.yml')).toThrow(
      /r\.yml: roles\.technical\.users\.0: expected a Slack user id like U0123ABCD/,
    );
    expect(() => parseReadinessConfig('policies:\n  strict:\n    target_accuracy: 101\n', 'r.yml')).toThrow(
      /target_accuracy/,
    );
  });
});
