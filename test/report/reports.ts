import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findCheck } from '../../src/checks/registry.js';
import type { CheckResult } from '../../src/checks/types.js';
import { assembleReport, checkRun, type GateReport } from '../../src/engine.js';
import { EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';

export const SCHEMAS = path.join(path.dirname(new URL(import.meta.url).pathname), 'schemas');
export const JENKINS_XSD = path.join(SCHEMAS, 'jenkins-xunit-junit-10.xsd');
export const SUREFIRE_XSD = path.join(SCHEMAS, 'surefire-test-report.xsd');

/** The example run as `readiness check --skip-heavy` sees it: heavy checks skipped, sign-offs pending. */
export function exampleReport(): Promise<GateReport> {
  return checkRun(EXAMPLE_RUN, { skipHeavy: true });
}

/**
 * The example run's report with statuses rewritten so every kind of result appears (warn, fail,
 * error, a security finding, a rejection) and evidence that XML and terminals must survive.
 */
export function everyStatusReport(base: GateReport): GateReport {
  const hostile = 'quote " apos \' <tag> & ]]> \u0007bell \u001b[31mred\u001b[0m';
  const set: Record<string, Partial<CheckResult>> = {
    'docs.model_card': {
      status: 'warn',
      evidence: ['docs/model_card.md absent; final_report.md line 12 says why'],
      remediation: 'Create docs/model_card.md.',
    },
    'test.target': {
      status: 'fail',
      evidence: ['Test accuracy 79.1% (results/production/test_results.md line 10) < target 80%', hostile],
    },
    'checkpoint.best': {
      status: 'fail',
      security: true,
      evidence: ['checkpoints/production/final_model_best.pt: pickle names global os.system'],
    },
    'repro.env_snapshot': { status: 'error', evidence: ['requirements.txt:3: unreadable'] },
  };
  const checks = base.checks
    .filter((c) => c.category !== 'signoff')
    .map((c) => (set[c.id] ? { ...c, remediation: findCheck(c.id)?.remediation ?? null, ...set[c.id] } : c));
  const effective = {
    policy: base.policy.effective,
    digest: base.policy.digest,
    sources: base.policy.sources,
    overrides: base.policy.overrides,
  };
  return assembleReport({
    run: base.run,
    effective,
    manifest: base.manifest,
    checks,
    signoffs: [
      {
        role: 'product',
        decision: 'rejected',
        user: 'U123',
        at: '2026-11-30T10:00:00.000Z',
        reason: hostile,
        digest: base.digest,
      },
    ],
  });
}

/** Validates an XML document against an XSD with xmllint (Debian libxml2-utils); returns its complaints. */
export function xmllint(xml: string, xsd: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'junit-'));
  const file = path.join(dir, 'report.xml');
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', xsd, file], { encoding: 'utf8' });
  if (r.error)
    throw new Error(`xmllint is needed to validate JUnit reports (apt-get install libxml2-utils): ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** Validates a parsed `--format json` output against the committed docs/report.schema.json; returns ajv's errors. */
export async function reportSchemaErrors(doc: unknown): Promise<string[]> {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const schema = JSON.parse(readFileSync(path.join(REPO_ROOT, 'docs/report.schema.json'), 'utf8')) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  return validate(doc)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** The metrics table of docs/report-formats.md: check id → its keys (`{N}`, `{C}` stand for numbers). */
export function metricsDocumented(): Map<string, RegExp[]> {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/report-formats.md'), 'utf8');
  const rows = new Map<string, RegExp[]>();
  for (const m of doc.matchAll(/^\| ([a-z_.*]+) \| (.*) \|$/gm)) {
    rows.set(
      m[1]!,
      [...m[2]!.matchAll(/`([a-z0-9_{}A-Z]+)`/g)].map((k) => new RegExp(`^${k[1]!.replace(/\{[A-Z]\}/g, '\\d+')}$`)),
    );
  }
  return rows;
}

/** The metrics keys of a `--format json` report that docs/report-formats.md does not list under their check. */
export function undocumentedMetrics(doc: { checks: { id: string; metrics: Record<string, unknown> }[] }): string[] {
  const documented = metricsDocumented();
  const missing: string[] = [];
  for (const c of doc.checks) {
    const keys = documented.get(c.id.startsWith('signoff.') ? 'signoff.*' : c.id);
    if (!keys) missing.push(`${c.id}: no row`);
    else for (const k of Object.keys(c.metrics)) if (!keys.some((re) => re.test(k))) missing.push(`${c.id}: ${k}`);
  }
  return missing;
}
