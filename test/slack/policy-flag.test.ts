import { describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { ReadinessConfigSchema } from '../../src/config/readiness-config.js';
import { CommandUsageError, parseCommand } from '../../src/slack/command.js';
import { QueueSubmitter } from '../../src/slack/submit.js';
import { DEFAULT_CONFIG, U, useHarness } from './harness.js';

describe('/readiness run --policy names one of the team policies, never a file', () => {
  it('the parser, given the team policies, refuses any other name and names the allowed ones', () => {
    const policies = ['strict', 'image'];
    expect(parseCommand('run r --policy strict', { policies })).toEqual({ kind: 'run', run: 'r', policy: 'strict' });
    for (const text of ['run r --policy loose.yml', 'run r --policy=package.json', 'run r --policy STRICT']) {
      expect(() => parseCommand(text, { policies })).toThrow(CommandUsageError);
      expect(() => parseCommand(text, { policies })).toThrow(
        "is not one of the team's policies (allowed: image, strict)",
      );
    }
    expect(() => parseCommand('run r --policy strict', { policies: [] })).toThrow(
      'this team defines no named policies, so --policy cannot be used here',
    );
  });

  const h = useHarness({
    workers: false,
    checks: AUTOMATED_CHECKS.filter((c) => !c.heavy),
    config: { ...DEFAULT_CONFIG, policies: { strict: { target_accuracy: 95 }, image: { target_accuracy: 85 } } },
  });

  it('a file name (readable by the app, e.g. its own package.json) is refused in the ack, naming the allowed policies; nothing is stored', async () => {
    for (const value of ['package.json', 'docker-compose.yml', 'manifest.yml']) {
      const ack = await h.command(U.requester, `run ${h.runName} --policy ${value}`);
      expect(ack.status).toBe(200);
      const body = JSON.parse(ack.text) as { response_type: string; text: string };
      expect(body.response_type).toBe('ephemeral');
      expect(body.text).toContain(`--policy "${value}" is not one of the team's policies (allowed: image, strict)`);
    }
    expect(await h.evaluations()).toEqual([]);
    expect(await h.runtime.intake.queue.getJobCounts('waiting', 'active', 'completed', 'failed')).toEqual({
      waiting: 0,
      active: 0,
      completed: 0,
      failed: 0,
    });
  });

  it('a team policy by name is applied', async () => {
    await h.command(U.requester, `run ${h.runName} --policy strict`);
    const posted = await h.postedEvaluation();
    expect(posted.evaluation.policy.policy.name).toBe('strict');
    expect(posted.evaluation.policy.policy.target_accuracy).toBe(95);
  });

  it('the Slack submitter never reads a policy file, whoever calls it', async () => {
    const config = ReadinessConfigSchema.parse({ ...DEFAULT_CONFIG, policies: { strict: { target_accuracy: 95 } } });
    const submitter = new QueueSubmitter({ store: h.store, queues: h.queues, config, artifactRoot: h.artifactRoot });
    await expect(
      submitter.submit({ run: h.runName, requester: U.requester, channel: null, policy: 'package.json' }),
    ).rejects.toThrow('policy "package.json" is not defined in READINESS_CONFIG (defined: strict)');
  });
});
