import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/docs-monitoring.js';
import {
  describeBadDocument,
  dropSection,
  emptySection,
  replace,
  runOn,
  setSection,
  variant,
} from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const DOC = 'docs/deployment_guide.md';
const SECTION = 'Monitoring Recommendations';
const monitoring = (body: string) => ({ [DOC]: setSection(SECTION, body) });

afterAll(cleanupRuns);

describe('docs.monitoring', () => {
  it('passes on the example run: metrics, numeric thresholds and actions', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(
        `^${DOC} "${SECTION}" \\(line 133\\): metrics latency, accuracy, drift, confidence, errors; \\d+ threshold line\\(s\\), e\\.g\\. ".*" \\(${DOC}:\\d+\\); \\d+ action line\\(s\\)$`,
      ),
    );
    expect(r.result.metrics.metrics_named).toBe(5);
    expect(r.result.metrics.thresholds).toBeGreaterThanOrEqual(6);
    expect(r.result.metrics.actions).toBeGreaterThanOrEqual(6);
  });

  it('fails a vague section that names metrics but no numbers', async () => {
    const body =
      'Monitor latency, accuracy, prediction confidence and input drift on the team dashboard.\n' +
      'When something looks wrong, someone looks into it.\nThe on-call engineer investigates and rolls back if needed.';
    const r = await runOn(await variant(monitoring(body)), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      'monitoring section is vague: it gives no numeric alert thresholds (e.g. "Alert if p95 > 50 ms")',
    );
    expect(r.result.metrics).toEqual({ metrics_named: 4, thresholds: 0, actions: 1 });
    expect(r.result.remediation).toContain('Alert if p95 > 50ms');
  });

  it('fails a section with thresholds but no actions', async () => {
    const body =
      '- Latency: alert if p95 > 50 ms for 5 minutes.\n' +
      '- Accuracy: alert if accuracy on the labelled sample drops more than 5 pp below 99.2%.\n' +
      '- Confidence: alert if mean top-1 confidence falls below 0.85.';
    const r = await runOn(await variant(monitoring(body)), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      'monitoring section is vague: it says nothing about what to do when an alert fires (actions, on-call, rollback)',
    );
    expect(r.result.metrics).toEqual({ metrics_named: 3, thresholds: 3, actions: 0 });
  });

  it('counts actions written in any inflection ("investigates", "rolls back", "pages")', async () => {
    const body =
      '- Alert if p95 latency > 50 ms for 5 minutes: the service owner investigates and rolls back the deploy.\n' +
      '- Alert if accuracy drops more than 5 pp: the alert pages the model owner.';
    const r = await runOn(await variant(monitoring(body)), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics).toEqual({ metrics_named: 2, thresholds: 2, actions: 2 });
  });

  it('fails a section that names a single metric', async () => {
    const body = 'Alert if p95 latency > 50 ms for 5 minutes; the on-call engineer scales out or rolls back.';
    const r = await runOn(await variant(monitoring(body)), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      'monitoring section is vague: it names only latency (need at least two of latency, accuracy, drift, confidence, …)',
    );
  });

  it('lists every gap of an all-prose section', async () => {
    const r = await runOn(
      await variant(monitoring('We will keep an eye on the model in production and make sure it keeps working well.')),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      'monitoring section is vague: it names no metrics (need at least two of latency, accuracy, drift, confidence, …); it gives no numeric alert thresholds (e.g. "Alert if p95 > 50 ms"); it says nothing about what to do when an alert fires (actions, on-call, rollback)',
    );
  });

  it('passes a short but specific section', async () => {
    const body =
      '- Alert if p95 latency > 50 ms: scale out, roll back if it started with a deploy.\n- Alert if accuracy drops more than 5 pp: page the model owner and retrain.';
    const r = await runOn(await variant(monitoring(body)), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics).toEqual({ metrics_named: 2, thresholds: 2, actions: 2 });
  });

  it('fails when the section is missing', async () => {
    const r = await runOn(await variant({ [DOC]: dropSection(SECTION) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`${DOC} has no "${SECTION}" section`]);
  });

  it('fails when the section is empty', async () => {
    const r = await runOn(await variant({ [DOC]: emptySection(SECTION) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain('monitoring section is vague: it names no metrics');
  });

  it('reads the section under a bold-only heading or "### Monitoring" with CRLF', async () => {
    const bold = await runOn(await variant({ [DOC]: replace(`## ${SECTION}`, `**${SECTION}**`) }), check);
    expect(bold.result.status).toBe('pass');
    const crlf = await runOn(
      await variant({ [DOC]: (t) => replace(`## ${SECTION}`, `### ${SECTION}`)(t).replace(/\n/g, '\r\n') }),
      check,
    );
    expect(crlf.result.status).toBe('pass');
    expect(crlf.result.evidence[0]).toContain(`"${SECTION}" (line 133)`);
  });

  it('the policy names the section to read', async () => {
    const dir = await variant({ [DOC]: replace(`## ${SECTION}`, '## Observability') });
    const def = await runOn(dir, check);
    expect(def.result.status).toBe('fail');
    const custom = await runOn(dir, check, {
      policyLayer: { source: 'policy.yml', data: { docs: { monitoring_section: 'Observability' } } },
    });
    expect(custom.result.status).toBe('pass');
    expect(custom.result.evidence[0]).toContain(`${DOC} "Observability" (line 133)`);
  });

  describeBadDocument(check, DOC, {
    missing: { status: 'fail', text: `${DOC} not found` },
    empty: { status: 'fail', text: `${DOC} has no "${SECTION}" section` },
  });
});
