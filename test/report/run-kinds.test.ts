import { appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JUNIT_WARNINGS_AS } from '../../src/report/junit.js';
import { runCli } from '../helpers/cli.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';
import { JENKINS_XSD, reportSchemaErrors, SUREFIRE_XSD, undocumentedMetrics, xmllint } from './reports.js';

afterAll(cleanupRuns);

/**
 * The reports of four real `readiness check` runs, as a CI job consumes them: a passing run (every
 * check, the heavy ones too, under a policy that needs no sign-off), a blocked one, one with a
 * warning and one whose check could not decide (error).
 */
interface Kind {
  args: () => string[];
  code: number;
  gate: string;
  /**
   * testsuite failures, errors, skipped with the default --junit-warnings-as failures; the three
   * sign-offs the policy does not require are skipped, and so are the heavy checks with --skip-heavy
   */
  counts: [number, number, number];
}

let ciPolicy: string;
const runs: Record<string, string> = {};
const kinds: Record<string, Kind> = {
  passing: { args: () => [runs.passing!, '--policy', ciPolicy], code: 0, gate: 'passed', counts: [0, 0, 3] },
  blocked: {
    args: () => [runs.blocked!, '--policy', ciPolicy, '--target', '99.5', '--skip-heavy'],
    code: 1,
    gate: 'blocked',
    counts: [1, 0, 5],
  },
  warning: {
    args: () => [runs.warning!, '--policy', ciPolicy, '--skip-heavy', '--allow-skipped-heavy'],
    code: 0,
    gate: 'pending',
    counts: [1, 0, 5],
  },
  error: {
    args: () => [runs.error!, '--policy', ciPolicy, '--skip-heavy'],
    code: 1,
    gate: 'blocked',
    counts: [0, 1, 5],
  },
};

beforeAll(async () => {
  for (const k of Object.keys(kinds)) runs[k] = await copyExampleRun();
  ciPolicy = path.join(path.dirname(runs.passing!), 'ci-policy.yml');
  await writeFile(ciPolicy, 'signoff:\n  required_roles: []\n');
  // no model card and no justification for it in final_report.md: a warning
  await rm(path.join(runs.warning!, 'docs/model_card.md'));
  // numpy pinned twice to different versions: the check cannot tell which applies
  await appendFile(path.join(runs.error!, 'requirements.txt'), 'numpy==1.26.0\n');
});

interface Suite {
  '@_failures': string;
  '@_errors': string;
  '@_skipped': string;
  testcase: { '@_name': string; failure?: { '@_type': string }; error?: unknown; skipped?: unknown }[];
}
const suiteOf = (xml: string) =>
  (
    new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testcase' }).parse(xml) as {
      testsuite: Suite;
    }
  ).testsuite;

describe.each(Object.keys(kinds))('a %s run', (name) => {
  const kind = () => kinds[name]!;

  it('JUnit validates against the Jenkins xunit and the Surefire XSDs, with counts that match the run', async () => {
    const r = await runCli(['check', ...kind().args(), '--format', 'junit', '--quiet']);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(kind().code);
    for (const xsd of [JENKINS_XSD, SUREFIRE_XSD]) {
      const v = xmllint(r.stdout, xsd);
      expect(v.output).toMatch(/validates/);
      expect(v.ok).toBe(true);
    }
    const s = suiteOf(r.stdout);
    expect([Number(s['@_failures']), Number(s['@_errors']), Number(s['@_skipped'])]).toEqual(kind().counts);
    expect(s.testcase.filter((c) => c.failure).length).toBe(kind().counts[0]);
    expect(s.testcase.filter((c) => c.error).length).toBe(kind().counts[1]);
    expect(s.testcase.filter((c) => c.skipped).length).toBe(kind().counts[2]);
    if (name === 'passing')
      expect(s.testcase.filter((c) => c.skipped).map((c) => c['@_name'])).toEqual([
        'signoff.technical',
        'signoff.product',
        'signoff.compliance',
      ]);
  });

  it('JSON validates against docs/report.schema.json and every metrics key is documented', async () => {
    const r = await runCli(['check', ...kind().args(), '--format', 'json', '--quiet']);
    expect(r.code).toBe(kind().code);
    const doc = JSON.parse(r.stdout) as { gate: string; checks: { id: string; metrics: Record<string, unknown> }[] };
    expect(doc.gate).toBe(kind().gate);
    expect(await reportSchemaErrors(doc)).toEqual([]);
    expect(undocumentedMetrics(doc)).toEqual([]);
  });
});

describe('the warning run', () => {
  it.each(JUNIT_WARNINGS_AS)('--junit-warnings-as %s validates against both XSDs', async (mode) => {
    const r = await runCli([
      'check',
      ...kinds.warning!.args(),
      '--format',
      'junit',
      '--junit-warnings-as',
      mode,
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    for (const xsd of [JENKINS_XSD, SUREFIRE_XSD]) expect(xmllint(r.stdout, xsd).ok).toBe(true);
    const card = suiteOf(r.stdout).testcase.find((c) => c['@_name'] === 'docs.model_card')!;
    expect({ failure: card.failure?.['@_type'], skipped: card.skipped !== undefined }).toEqual(
      mode === 'failures'
        ? { failure: 'warning', skipped: false }
        : mode === 'skipped'
          ? { failure: undefined, skipped: true }
          : { failure: undefined, skipped: false },
    );
  });
});
