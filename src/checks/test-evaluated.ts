import { type Aggregate, extractMetrics, type MetricName, type MetricWanted, pickMetric } from '../parse/metrics.js';
import { documentSplit, readMarkdown } from '../parse/run-docs.js';
import { defineCheck, fail, pass } from './define.js';

/** The four metrics the checklist asks for; F1/precision/recall may be overall, macro, weighted or micro. */
const AVERAGES: (Aggregate | undefined)[][] = [[undefined, 'overall'], ['macro'], ['weighted'], ['micro']];
const REQUIRED: { key: MetricName; name: string; aggregates: (Aggregate | undefined)[][] }[] = [
  { key: 'accuracy', name: 'Test Accuracy', aggregates: [[undefined, 'overall', 'micro']] },
  { key: 'f1', name: 'Test F1', aggregates: AVERAGES },
  { key: 'precision', name: 'Test Precision', aggregates: AVERAGES },
  { key: 'recall', name: 'Test Recall', aggregates: AVERAGES },
];

export const check = defineCheck({
  id: 'test.evaluated',
  category: 'test',
  title: 'Comprehensive test set evaluation completed',
  heavy: false,
  remediation:
    'Evaluate the best checkpoint on the held-out test set and write results/production/test_results.md with "Test Accuracy: …%", F1, Precision and Recall (lines or a metrics table); examples/digits-run in the readiness-gate repository has a complete one.',
  async run({ run, policy }) {
    const rel = policy.paths.test_results;
    if (!(await run.exists(rel))) return fail([`${rel} not found: test results are not documented`]);
    const doc = await readMarkdown(run, rel, policy);
    if (doc.sections.length === 0 && doc.root.blocks.length === 0) return fail([`${rel} is empty`]);
    const values = extractMetrics(doc, { defaultSplit: documentSplit(rel, policy) });
    const evidence: string[] = [];
    const missing: string[] = [];
    const metrics: Record<string, number | null> = {};
    for (const m of REQUIRED) {
      const want: MetricWanted = { metric: m.key, split: 'test', aggregates: m.aggregates };
      const hit = pickMetric(values, want);
      if (!hit) {
        missing.push(m.name);
        metrics[m.key] = null;
        continue;
      }
      metrics[m.key] = hit.value.number!.value;
      evidence.push(`${hit.value.label}: ${hit.value.raw} (${rel}:${hit.value.line})`);
    }
    if (missing.length > 0) {
      return fail(
        [`${rel} is missing ${missing.join(', ')} (no "<metric>: <number>" line or table row found)`, ...evidence],
        metrics,
      );
    }
    return pass(evidence, metrics);
  },
});
