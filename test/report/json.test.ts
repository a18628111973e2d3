import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateReport } from '../../src/engine.js';
import { REPORT_SCHEMA_VERSION, renderJson, reportJsonSchema } from '../../src/report/json.js';
import { runCli } from '../helpers/cli.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, mutateText, REPO_ROOT } from '../helpers/runs.js';
import { everyStatusReport, exampleReport, reportSchemaErrors, undocumentedMetrics } from './reports.js';

afterAll(cleanupRuns);

let example: GateReport;
beforeAll(async () => {
  example = await exampleReport();
});

describe('JSON report and its JSON Schema', () => {
  it('docs/report.schema.json is the schema generated from the zod types (run `npm run docs:schemas` after a change)', () => {
    const committed = readFileSync(path.join(REPO_ROOT, 'docs/report.schema.json'), 'utf8');
    expect(committed).toBe(`${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
  });

  it('carries schema_version and the skipped heavy checks', () => {
    const j = JSON.parse(renderJson(example)) as { schema_version: number; heavy_skipped: string[] };
    expect(j.schema_version).toBe(REPORT_SCHEMA_VERSION);
    expect(j.heavy_skipped).toEqual(['export.parity', 'export.inference']);
  });

  it('every status, a security finding and a rejection validate', async () => {
    expect(await reportSchemaErrors(JSON.parse(renderJson(everyStatusReport(example))))).toEqual([]);
  });

  it('the schema is strict: an undeclared field or a wrong status is refused', async () => {
    const j = JSON.parse(renderJson(example)) as Record<string, unknown> & { checks: Record<string, unknown>[] };
    expect(await reportSchemaErrors({ ...j, extra: 1 })).not.toEqual([]);
    expect(await reportSchemaErrors({ ...j, checks: [{ ...j.checks[0], status: 'ok' }] })).not.toEqual([]);
    expect(await reportSchemaErrors({ ...j, schema_version: 2 })).not.toEqual([]);
  });

  it('`readiness check --format json` validates: the full example (heavy checks run) and a blocked run', async () => {
    const full = await runCli(['check', EXAMPLE_RUN, '--format', 'json', '--quiet']);
    expect(full.code).toBe(0);
    expect(await reportSchemaErrors(JSON.parse(full.stdout))).toEqual([]);
    // every metrics key a check emits is documented in its row of docs/report-formats.md
    expect(undocumentedMetrics(JSON.parse(full.stdout))).toEqual([]);
    const run = await copyExampleRun();
    await mutateText(run, 'results/production/training.log', (t) => t.replace(/Training complete.*\n?/, ''));
    const blocked = await runCli(['check', run, '--skip-heavy', '--format', 'json', '--quiet']);
    expect(blocked.code).toBe(1);
    expect(await reportSchemaErrors(JSON.parse(blocked.stdout))).toEqual([]);
  });
});
