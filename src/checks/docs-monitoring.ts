import { findSection, linesAndRows } from '../parse/markdown.js';
import { readMarkdown } from '../parse/run-docs.js';
import { defineCheck, fail, pass } from './define.js';

/** What production monitoring of a model tracks. */
const METRIC_TERMS: [string, RegExp][] = [
  ['latency', /\blatenc|\bp(?:50|90|95|99)\b|response time/i],
  ['throughput', /\bthroughput|requests? per second|\brps\b|\bqps\b/i],
  ['accuracy', /\baccuracy|\bf1\b|precision|recall|error rate|top-1/i],
  ['drift', /\bdrift|distribution shift|\bpsi\b|kl[- ]divergence/i],
  ['confidence', /\bconfidence|\bprobabilit|\bentropy|softmax/i],
  ['errors', /\b(?:5xx|4xx|error(?:s| count)|exceptions?|failures?)\b/i],
  ['resources', /\b(?:memory|cpu|gpu) (?:usage|utili[sz]ation)|\brss\b/i],
];

/** A number with a unit or comparison: "p95 > 50 ms", "drops below 0.85", "more than 5 pp", "> 2%". */
const THRESHOLD = [
  /(?:>|<|≥|≤|>=|<=)\s*-?\d/,
  /\b(?:above|below|exceeds?|over|under|more than|less than|at least|at most|drops?|falls?|rises?|increases?|decreases?|greater than|higher than|lower than)\b[^.\n]{0,40}?\d/i,
  /\d+(?:\.\d+)?\s*(?:ms|s|sec|seconds|minutes|min|%|pp|percentage points|rps|qps)\b/i,
];

// Verbs in any inflection: "rolls back", "investigates", "pages the owner", "notified".
const ACTION =
  /\b(?:actions?|roll(?:s|ed|ing)? ?back|rollbacks?|pag(?:e|es|ed|ing)|pager|on-?call|escalat\w*|re-?train\w*|investigat\w*|runbooks?|playbooks?|incidents?|revert\w*|notif\w*|open a ticket|scal(?:e|es|ed|ing) (?:up|out)|fall(?:s|ing)? ?back|disabl\w*|switch(?:es)? (?:traffic|back))\b/i;

export const check = defineCheck({
  id: 'docs.monitoring',
  category: 'docs',
  title: 'Monitoring strategy documented',
  heavy: false,
  remediation:
    'Add a Monitoring Recommendations section to docs/deployment_guide.md. Define specific metrics (latency p95, accuracy if labels available, confidence distribution); set thresholds (e.g. "Alert if p95 > 50ms", "Alert if accuracy drops >5%"); document actions (what to do when an alert fires); link a dashboard.',
  async run({ run, policy }) {
    const rel = policy.paths.deployment_guide;
    if (!(await run.exists(rel))) return fail([`${rel} not found`]);
    const name = policy.docs.monitoring_section;
    const section = findSection(await readMarkdown(run, rel, policy), name);
    if (!section) return fail([`${rel} has no "${name}" section`]);
    // Lines of the section and its sub-sections, table rows read as lines (alert tables), titles of sub-sections too.
    const lines = [...linesAndRows(section), ...section.children.map((c) => ({ text: c.title, line: c.line }))].sort(
      (a, b) => a.line - b.line,
    );
    const body = lines.map((l) => l.text).join('\n');
    const metricsNamed = METRIC_TERMS.filter(([, re]) => re.test(body)).map(([n]) => n);
    const thresholdLines = lines.filter((l) => THRESHOLD.some((re) => re.test(l.text)));
    const actionLines = lines.filter((l) => ACTION.test(l.text));
    const where = `${rel} "${section.title}" (line ${section.line})`;
    const metrics = {
      metrics_named: metricsNamed.length,
      thresholds: thresholdLines.length,
      actions: actionLines.length,
    };
    const gaps: string[] = [];
    if (metricsNamed.length < 2)
      gaps.push(
        `names ${metricsNamed.length ? `only ${metricsNamed.join(', ')}` : 'no metrics'} (need at least two of latency, accuracy, drift, confidence, …)`,
      );
    if (thresholdLines.length === 0) gaps.push('gives no numeric alert thresholds (e.g. "Alert if p95 > 50 ms")');
    if (actionLines.length === 0)
      gaps.push('says nothing about what to do when an alert fires (actions, on-call, rollback)');
    const evidence = [
      `${where}: metrics ${metricsNamed.join(', ') || 'none'}; ${thresholdLines.length} threshold line(s)${thresholdLines[0] ? `, e.g. "${thresholdLines[0].text.slice(0, 100)}" (${rel}:${thresholdLines[0].line})` : ''}; ${actionLines.length} action line(s)`,
    ];
    if (gaps.length) return fail([`monitoring section is vague: it ${gaps.join('; it ')}`, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
