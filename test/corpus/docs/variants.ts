/**
 * Run variants for the document readers: the example run with its documents rewritten the way
 * other teams write them. Each variant is a small patch (text transforms per file), materialised
 * into a temp copy by the test; expectations name the check, its verdict and the evidence with
 * file:line (`at(file, marker)` is the line of the first line containing `marker` in the
 * materialised file).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropSection, replace, setSection } from '../../helpers/check.js';

export const MD = 'results/production/test_results.md';
export const REPORT = 'final_report.md';
export const GUIDE = 'docs/deployment_guide.md';
export const METRICS = 'results/production/metrics.json';
export const POLICY = 'readiness.yml';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** Real scikit-learn output (make_classification_reports.py). */
export const sklearnReport = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8').trimEnd();

export type Transform = (text: string) => string;
export type At = (file: string, marker: string) => string;

export interface Expectation {
  check: string;
  status: 'pass' | 'warn' | 'fail' | 'error';
  /** Each must appear in the joined evidence; functions get `at` for file:line. */
  evidence: ((at: At) => string | RegExp)[];
}

export interface Variant {
  name: string;
  /** A defect must block (its expected check fails or errors); a benign variant must not block any document check. */
  kind: 'benign' | 'defect';
  files: Record<string, Transform>;
  expect: Expectation[];
}

const PERF_BULLETS = '- **Test Accuracy**: 99.2%\n- **Test F1 (macro)**: 0.992\n- **Test Precision (macro)**: 0.992\n- **Test Recall (macro)**: 0.992\n';
const VAL_BULLETS = '- Validation Accuracy: 98.9%\n- Test Accuracy: 99.2%\n';
const PER_CLASS_TABLE = /\| Class \| Precision[^]*?\| 9 \| 1\.000 \| 0\.944 \| 0\.971 \| 36 \|\n/;
const allTestAcc = (value: string): Transform => replace(/(Test Accuracy\**:\s*)99\.2%/g, `$1${value}`);
const both = (...ts: Transform[]): Transform => (text) => ts.reduce((t, f) => f(t), text);
const fence = (body: string, lang = 'text') => `\`\`\`${lang}\n${body}\n\`\`\``;

const ki = (body: string) => ({ [REPORT]: setSection('Known Issues', body) });
const review = (body: string) => ({ [REPORT]: setSection('Code Review', body) });

export const VARIANTS: Variant[] = [
  // ------------------------------------------------------------------ benign: must not block
  {
    name: 'known issues as prose: "P3: accuracy drops on noisy crops. No P0/P1 issues open."',
    kind: 'benign',
    files: ki('P3: accuracy drops on noisy crops. No P0/P1 issues open.'),
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => `${REPORT} "Known Issues" (line 34): 1 issue(s) documented, none open at P0/P1`] }],
  },
  {
    name: 'metrics as one column per metric',
    kind: 'benign',
    files: { [MD]: replace(PERF_BULLETS, '| Accuracy | F1 (macro) | Precision (macro) | Recall (macro) |\n|---|---|---|---|\n| 99.2% | 0.992 | 0.992 | 0.992 |\n') },
    expect: [
      { check: 'test.evaluated', status: 'pass', evidence: [(at) => `Accuracy: 99.2% (${at(MD, '| 99.2% | 0.992')})`, (at) => `Recall (macro): 0.992 (${at(MD, '| 99.2% | 0.992')})`] },
      { check: 'test.target', status: 'pass', evidence: [(at) => `Test accuracy 99.2% (${MD} line ${at(MD, '| 99.2% | 0.992').split(':')[1]}) ≥ target 80%`] },
    ],
  },
  {
    name: '| Metric | Validation | Test | table: the Test column is read',
    kind: 'benign',
    files: {
      [MD]: both(
        replace(PERF_BULLETS, '| Metric | Validation | Test |\n|---|---|---|\n| Accuracy | 98.9% | 99.2% |\n| F1 (macro) | 0.989 | 0.992 |\n| Precision (macro) | 0.989 | 0.992 |\n| Recall (macro) | 0.989 | 0.992 |\n'),
        replace(VAL_BULLETS, ''),
      ),
    },
    expect: [
      { check: 'test.target', status: 'pass', evidence: [(at) => `Test accuracy 99.2% (${MD} line ${at(MD, '| Accuracy | 98.9%').split(':')[1]}) ≥ target 80%`] },
      { check: 'test.evaluated', status: 'pass', evidence: [(at) => `F1 (macro) / Test: 0.992 (${at(MD, '| F1 (macro) |')})`] },
    ],
  },
  {
    name: 'scikit-learn classification_report (digits=4) pasted as the metrics',
    kind: 'benign',
    files: { [MD]: replace(PERF_BULLETS, `${fence(sklearnReport('classification_report_digits4.txt'))}\n`) },
    expect: [
      {
        check: 'test.evaluated',
        status: 'pass',
        evidence: [(at) => `classification_report accuracy accuracy: 0.9917 (${at(MD, '    accuracy ')})`, (at) => `classification_report macro avg f1: 0.9916 (${at(MD, '   macro avg')})`],
      },
      { check: 'test.target', status: 'pass', evidence: [(at) => `Test accuracy 99.17% (read as fraction 0.9917) (${MD} line ${at(MD, '    accuracy ').split(':')[1]})`] },
    ],
  },
  {
    name: 'classification_report with class names (digits=3) instead of the per-class table',
    kind: 'benign',
    files: { [MD]: replace(PER_CLASS_TABLE, `${fence(sklearnReport('classification_report_names.txt'))}\n`) },
    expect: [{ check: 'test.per_class', status: 'pass', evidence: [(at) => `10 classes in ${MD} (classification report at ${at(MD, 'precision    recall')}); lowest F1 0.971 (class digit 9), lowest recall 94.4%`] }],
  },
  {
    name: 'classification_report with default 2 digits instead of the per-class table',
    kind: 'benign',
    files: { [MD]: replace(PER_CLASS_TABLE, `${fence(sklearnReport('classification_report_digits2.txt'), '')}\n`) },
    expect: [{ check: 'test.per_class', status: 'pass', evidence: [() => /10 classes in .* \(classification report at .*\); lowest F1 0\.97 \(class 7\), lowest recall 94%/] }],
  },
  {
    name: 'a P1 closed by its own sub-heading ("#### Resolved")',
    kind: 'benign',
    files: { [REPORT]: replace('No P0/P1 issues are known.', '### KI-3: P1 crash on all-zero input\n\nFound in QA on 2026-11-20.\n\n#### Resolved\n\nFixed in v1.0.1 (commit 4f2a9c1).') },
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => 'none open at P0/P1 (1 closed)'] }],
  },
  {
    name: 'closed items in a list: "— fixed in v1.0.1" and a checked task box',
    kind: 'benign',
    files: ki('- P1: NaN logits on empty input — fixed in v1.0.1\n- [x] P0: crash on grayscale PNG uploads\n- P3: slow cold start (open)'),
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => '3 issue(s) documented, none open at P0/P1 (2 closed)'] }],
  },
  {
    name: 'a "### Resolved issues" group closes the items under it',
    kind: 'benign',
    files: ki('### Open\n\n- P3: class 9 has the lowest F1 (monitor)\n\n### Resolved issues\n\n- P0: NaN logits on empty input\n- P1: wrong normalisation in preprocess'),
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => '3 issue(s) documented, none open at P0/P1 (2 closed)'] }],
  },
  {
    name: 'a P1 row whose Status column says "Closed (fixed in v1.0.1)"',
    kind: 'benign',
    files: { [REPORT]: replace(/(\| KI-2 \|.*\n)/, '$1| KI-3 | P1 | Closed (fixed in v1.0.1) | NaN logits for all-zero inputs. |\n') },
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => '3 issue(s) documented, none open at P0/P1 (1 closed)'] }],
  },
  {
    name: 'known issues "None."',
    kind: 'benign',
    files: ki('None.'),
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => '0 issue(s) documented'] }],
  },
  {
    name: 'counts per severity: "P0 issues: none", "P1 issues: 0"',
    kind: 'benign',
    files: ki('- P0 issues: none\n- P1 issues: 0\n- P3: slow cold start on the first request (open)'),
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => '1 issue(s) documented, none open at P0/P1'] }],
  },
  {
    name: 'severity words: an open "Low" issue and a mitigated P3',
    kind: 'benign',
    files: ki('| ID | Severity | Status | Description |\n|---|---|---|---|\n| KI-1 | Low | open | Cold start takes 2 s. |\n| KI-2 | P3 | mitigated | Class 9 recall is the lowest. |'),
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => '2 issue(s) documented, none open at P0/P1'] }],
  },
  {
    name: 'code review as a table with an Outcome column',
    kind: 'benign',
    files: review('| Reviewer | Date | Scope | Outcome |\n|---|---|---|---|\n| M. Okafor | 2026-11-27 | inference code, export script | Approved |'),
    expect: [{ check: 'qa.code_review', status: 'pass', evidence: [(at) => `review recorded: "approved" (${at(REPORT, '| M. Okafor |')})`] }],
  },
  {
    name: 'code review: "approved, no changes requested" (negated)',
    kind: 'benign',
    files: review('Reviewed by A. Chen on 2026-11-27: approved, no changes requested.'),
    expect: [{ check: 'qa.code_review', status: 'pass', evidence: [(at) => `review recorded: "reviewed by" (${at(REPORT, 'Reviewed by A. Chen')})`] }],
  },
  {
    name: 'deployment guide with numbered titles ("## 1. Model Overview")',
    kind: 'benign',
    files: { [GUIDE]: (t) => { let n = 0; return t.replace(/^## /gm, () => `## ${++n}. `); } },
    expect: [{ check: 'docs.deployment_guide', status: 'pass', evidence: [() => '8/8 sections present and non-empty'] }],
  },
  {
    name: 'deployment guide with setext headings',
    kind: 'benign',
    files: { [GUIDE]: (t) => t.replace(/^## (.+)$/gm, (_m, title: string) => `${title}\n${'-'.repeat(title.length)}`) },
    expect: [{ check: 'docs.deployment_guide', status: 'pass', evidence: [() => '8/8 sections present and non-empty'] }],
  },
  {
    name: 'test results with bold-only lines as headings',
    kind: 'benign',
    files: { [MD]: (t) => t.replace(/^## (.+)$/gm, '**$1**') },
    expect: [
      { check: 'docs.test_results', status: 'pass', evidence: [() => '6/6 sections present and non-empty'] },
      { check: 'test.per_class', status: 'pass', evidence: [(at) => `(table at ${at(MD, '| Class | Precision')})`] },
    ],
  },
  {
    name: 'target equal to the test accuracy as written (99.2 ≥ 99.2)',
    kind: 'benign',
    files: { [POLICY]: (t) => `${t}target_accuracy: 99.2\n` },
    expect: [{ check: 'test.target', status: 'pass', evidence: [() => `Test accuracy 99.2% (${MD} line 10) ≥ target 99.2%`, () => 'Margin: +0 pp'] }],
  },
  {
    name: 'val_acc written as a fraction in metrics.json (0.988889)',
    kind: 'benign',
    files: { [METRICS]: replace('"val_acc": 98.8889,', '"val_acc": 0.988889,') },
    expect: [
      { check: 'test.val_gap', status: 'pass', evidence: [(at) => `Val acc 98.8889% (read as fraction 0.988889) (${METRICS} val_acc line ${at(METRICS, '"val_acc": 0.988889').split(':')[1]})`, () => 'Gap |98.8889 − 99.2| = 0.3111 pp: excellent'] },
      { check: 'consistency.metrics', status: 'pass', evidence: [() => 'val_acc agrees within rounding across 4 sources'] },
    ],
  },
  {
    name: 'HTML comments left by a template in every section, CRLF line endings',
    kind: 'benign',
    files: { [MD]: (t) => t.replace(/^(## .+)$/gm, '$1\n<!-- generated by eval.py; edit the template, not this file -->').replace(/\n/g, '\r\n') },
    expect: [
      { check: 'docs.test_results', status: 'pass', evidence: [() => '6/6 sections present and non-empty'] },
      { check: 'test.evaluated', status: 'pass', evidence: [(at) => `Test Accuracy: 99.2% (${at(MD, '**Test Accuracy**')})`] },
    ],
  },
  {
    name: 'unlabelled "Accuracy" under the test results document (the split comes from the title)',
    kind: 'benign',
    files: { [MD]: replace('- **Test Accuracy**: 99.2%', '- **Accuracy**: 99.2%') },
    expect: [{ check: 'test.evaluated', status: 'pass', evidence: [(at) => `Accuracy: 99.2% (${at(MD, '**Accuracy**')})`] }],
  },
  {
    name: 'a sub-section of Known Issues with "Severity:"/"Status:" lines, closed',
    kind: 'benign',
    files: { [REPORT]: replace('No P0/P1 issues are known.', '### KI-3: Crash on empty batch\n\n- Severity: P1\n- Status: Fixed in v1.0.1') },
    expect: [{ check: 'qa.known_issues', status: 'pass', evidence: [() => '3 issue(s) documented, none open at P0/P1 (1 closed)'] }],
  },

  {
    name: 'a bold key result as the only content of a section (a value, not a heading)',
    kind: 'benign',
    files: { [MD]: setSection('Target Achievement', '**Target met: 99.2% ≥ 80.0% (+19.2 pp)**') },
    expect: [{ check: 'docs.test_results', status: 'pass', evidence: [() => '6/6 sections present and non-empty'] }],
  },
  {
    name: 'code review recorded as a bold line that acts as a sub-heading',
    kind: 'benign',
    files: review('**Approved by M. Okafor (ML platform) on 2026-11-27**\n\nScope: preprocess/predict and the export script; input validation, error handling, logging checked.'),
    expect: [{ check: 'qa.code_review', status: 'pass', evidence: [(at) => `review recorded: "approved" (${at(REPORT, '**Approved by M. Okafor')})`] }],
  },
  {
    name: 'metrics.json without a plain val_acc: the best epoch read from the history, counted from 1 as last_epoch.epoch says',
    kind: 'benign',
    files: { [METRICS]: replace('  "val_acc": 98.8889,\n', '') },
    expect: [
      { check: 'test.val_gap', status: 'pass', evidence: [(at) => `Val acc 98.8889% (${METRICS} history.val_acc[28] line ${at(METRICS, '      98.8889,').split(':')[1]})`, () => 'Gap |98.8889 − 99.2| = 0.3111 pp: excellent'] },
      { check: 'consistency.metrics', status: 'pass', evidence: [() => 'val_acc agrees within rounding across 4 sources'] },
    ],
  },
  {
    name: 'reproducibility versions as a | Component | Version | table',
    kind: 'benign',
    files: { [REPORT]: replace(/- Environment: .*\n/, '\n| Component | Version |\n|---|---|\n| Python | 3.11.2 |\n| PyTorch | 1.13.0a0 |\n| NumPy | 1.24.2 |\n\n') },
    expect: [{ check: 'repro.documented', status: 'pass', evidence: [(at) => `Python 3.11.2 (${at(REPORT, '| Python | 3.11.2 |')}), PyTorch 1.13.0a0 (${at(REPORT, '| PyTorch |')})`] }],
  },
  {
    name: 'reproducibility details as "Label: value" lines ("Python: 3.11.2", "Random seed = 42")',
    kind: 'benign',
    files: { [REPORT]: both(replace('- Seed: 42 (fixed)', '- Random seed = 42'), replace(/- Environment: .*\n/, '- Python: 3.11.2\n- PyTorch: 1.13.0a0\n')) },
    expect: [{ check: 'repro.documented', status: 'pass', evidence: [(at) => `seed 42 (${at(REPORT, 'Random seed = 42')})`, (at) => `Python 3.11.2 (${at(REPORT, '- Python: 3.11.2')}), PyTorch 1.13.0a0 (${at(REPORT, '- PyTorch: 1.13.0a0')})`] }],
  },
  {
    name: 'code review as a merge request: "PR #142 reviewed and merged by M. Okafor (2 approvals)"',
    kind: 'benign',
    files: review('PR #142 (inference code and export script) reviewed and merged by M. Okafor (2 approvals).'),
    expect: [{ check: 'qa.code_review', status: 'pass', evidence: [(at) => `review recorded: "reviewed and merged by" (${at(REPORT, 'PR #142')})`] }],
  },
  {
    name: 'deployment guide section titled "Monitoring & Alerting Recommendations"',
    kind: 'benign',
    files: { [GUIDE]: replace('## Monitoring Recommendations', '## Monitoring & Alerting Recommendations') },
    expect: [
      { check: 'docs.deployment_guide', status: 'pass', evidence: [(at) => `Monitoring Recommendations l.${at(GUIDE, '## Monitoring & Alerting').split(':')[1]}`] },
      { check: 'docs.monitoring', status: 'pass', evidence: [(at) => `${GUIDE} "Monitoring & Alerting Recommendations" (line ${at(GUIDE, '## Monitoring & Alerting').split(':')[1]})`] },
    ],
  },

  // ------------------------------------------------------------------ defects: must block
  {
    name: 'prose P1 next to "No P0 issues open."',
    kind: 'defect',
    files: ki('P1: accuracy collapses on rotated digits. No P0 issues open.'),
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P1 issue (${at(REPORT, 'P1: accuracy collapses')}): P1: accuracy collapses on rotated digits.`] }],
  },
  {
    name: 'a P0 with only a workaround is still open',
    kind: 'defect',
    files: ki('- P0: crash on an empty batch; workaround: retry the request'),
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P0 issue (${at(REPORT, '- P0: crash')}): P0: crash on an empty batch; workaround: retry the request (status: workaround)`] }],
  },
  {
    name: 'a P0 row whose status is "Mitigated"',
    kind: 'defect',
    files: { [REPORT]: replace('| KI-2 | P4 | mitigated |', '| KI-2 | P0 | Mitigated |') },
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P0 issue (${at(REPORT, '| KI-2 |')}): KI-2 | P0 | Mitigated |`] }],
  },
  {
    name: 'a P1 sub-section whose sub-heading is only a workaround',
    kind: 'defect',
    files: { [REPORT]: replace('No P0/P1 issues are known.', '### KI-3: P1 crash on all-zero input\n\nSeen in QA.\n\n#### Workaround\n\nRestart the worker.') },
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P1 issue (${at(REPORT, '### KI-3')}): KI-3: P1 crash on all-zero input (status: workaround)`] }],
  },
  {
    name: '"not fixed yet" is open',
    kind: 'defect',
    files: ki('- P1: low-light inputs misclassified, not fixed yet'),
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P1 issue (${at(REPORT, '- P1: low-light')})`] }],
  },
  {
    name: 'whole-word status: "prefixed" is not "fixed"',
    kind: 'defect',
    files: ki('- P1: prefixed label names break the decoder'),
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P1 issue (${at(REPORT, '- P1: prefixed')}): P1: prefixed label names break the decoder`] }],
  },
  {
    name: '"not reproducible anymore" does not close a P1',
    kind: 'defect',
    files: ki('- P1: crash on resize, not reproducible anymore after v1.0.1'),
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P1 issue (${at(REPORT, '- P1: crash on resize, not')}): P1: crash on resize, not reproducible anymore after v1.0.1`] }],
  },
  {
    name: 'an unchecked task box is open',
    kind: 'defect',
    files: ki('- [ ] P1: export drops the softmax layer'),
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P1 issue (${at(REPORT, '- [ ] P1')})`] }],
  },
  {
    name: 'open P0 under a setext Known Issues heading',
    kind: 'defect',
    files: { [REPORT]: (t) => replace('| KI-1 | P3 | open |', '| KI-1 | P0 | open |')(t).replace('## Known Issues', 'Known Issues\n------------') },
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P0 issue (${at(REPORT, '| KI-1 |')})`] }],
  },
  {
    name: '| Metric | Validation | Test | with a test accuracy below target (not the Validation column)',
    kind: 'defect',
    files: {
      [MD]: both(replace(PERF_BULLETS, '| Metric | Validation | Test |\n|---|---|---|\n| Accuracy | 98.9% | 78.0% |\n| F1 (macro) | 0.989 | 0.78 |\n'), replace(VAL_BULLETS, '')),
    },
    expect: [{ check: 'test.target', status: 'fail', evidence: [(at) => `Test accuracy 78% (${MD} line ${at(MD, '| Accuracy | 98.9%').split(':')[1]}) < target 80%`, () => 'Gap: 2 pp below target'] }],
  },
  {
    name: 'one column per metric with a test accuracy below target',
    kind: 'defect',
    files: { [MD]: both(replace(PERF_BULLETS, '| Accuracy | F1 | Precision | Recall |\n|---|---|---|---|\n| 0.781 | 0.77 | 0.78 | 0.78 |\n'), replace(VAL_BULLETS, '')) },
    expect: [{ check: 'test.target', status: 'fail', evidence: [(at) => `Test accuracy 78.1% (read as fraction 0.781) (${MD} line ${at(MD, '| 0.781 |').split(':')[1]}) < target 80%`] }],
  },
  {
    name: 'val-test gap of exactly 5 pp with val_acc as a fraction (0.949 vs 89.9%)',
    kind: 'defect',
    files: { [METRICS]: replace('"val_acc": 98.8889,', '"val_acc": 0.949,'), [MD]: allTestAcc('89.9%') },
    expect: [{ check: 'test.val_gap', status: 'fail', evidence: [() => 'Gap |94.9 − 89.9| = 5 pp: too large (excellent < 2, acceptable < 5)', (at) => `Test acc 89.9% (${MD} line ${at(MD, '**Test Accuracy**').split(':')[1]})`] }],
  },
  {
    name: 'test accuracy 0.05 pp under a tightened target (99.2 < 99.25)',
    kind: 'defect',
    files: { [POLICY]: (t) => `${t}target_accuracy: 99.25\n` },
    expect: [{ check: 'test.target', status: 'fail', evidence: [() => `Test accuracy 99.2% (${MD} line 10) < target 99.25%`, () => 'Gap: 0.05 pp below target'] }],
  },
  {
    name: 'real classification_report with a collapsed class 9 as the per-class results',
    kind: 'defect',
    files: { [MD]: replace(PER_CLASS_TABLE, `${fence(sklearnReport('classification_report_weak9.txt'))}\n`) },
    expect: [
      {
        check: 'test.per_class',
        status: 'fail',
        evidence: [(at) => `class 9: F1 0.56 ≤ 0.7 (${at(MD, '           9     1.0000    0.3889')})`, (at) => `class 9: recall 38.89% < 50% (catastrophic) (${at(MD, '           9     1.0000')})`],
      },
    ],
  },
  {
    name: 'per-class F1 exactly 0.70 (must be > 0.7)',
    kind: 'defect',
    files: { [MD]: replace('| 9 | 1.000 | 0.944 | 0.971 | 36 |', '| 9 | 1.000 | 0.944 | 0.70 | 36 |') },
    expect: [{ check: 'test.per_class', status: 'fail', evidence: [(at) => `class 9: F1 0.7 ≤ 0.7 (${at(MD, '| 9 | 1.000 | 0.944 | 0.70')})`] }],
  },
  {
    name: 'F1 only per class: no overall test F1',
    kind: 'defect',
    files: { [MD]: replace('- **Test F1 (macro)**: 0.992\n', '') },
    expect: [{ check: 'test.evaluated', status: 'fail', evidence: [() => `${MD} is missing Test F1`] }],
  },
  {
    name: 'code review "Review status: pending"',
    kind: 'defect',
    files: review('Reviewer: M. Okafor\nReview status: pending'),
    expect: [{ check: 'qa.code_review', status: 'fail', evidence: [() => `says "review status: pending"`, (at) => `(${at(REPORT, 'Review status: pending')})`] }],
  },
  {
    name: 'code review "Not approved yet", though "reviewed by" is written',
    kind: 'defect',
    files: review('Reviewed by M. Okafor on 2026-11-27. Not approved yet: changes requested in preprocess().'),
    expect: [{ check: 'qa.code_review', status: 'fail', evidence: [(at) => /says "not approved"/, (at) => `(${at(REPORT, 'Reviewed by M. Okafor on')})`] }],
  },
  {
    name: 'code review: reviewer assigned, approval pending',
    kind: 'defect',
    files: review('Reviewer: M. Okafor (assigned 2026-11-27); approval pending.'),
    expect: [{ check: 'qa.code_review', status: 'fail', evidence: [(at) => `says "approval pending": Reviewer: M. Okafor (assigned 2026-11-27); approval pending. (${at(REPORT, 'approval pending')})`] }],
  },
  {
    name: 'code review approved with an open P1 finding',
    kind: 'defect',
    files: review('Reviewed by M. Okafor on 2026-11-27: approved with findings.\n\n- P1: predict() accepts NaN inputs without an error (open)'),
    expect: [{ check: 'qa.code_review', status: 'fail', evidence: [(at) => `has an open P1 finding (${at(REPORT, '- P1: predict()')})`] }],
  },
  {
    name: 'a deployment guide section holding only an HTML comment',
    kind: 'defect',
    files: { [GUIDE]: setSection('Troubleshooting', '<!-- TODO: fill in before release -->') },
    expect: [{ check: 'docs.deployment_guide', status: 'fail', evidence: [(at) => `empty sections (< 20 characters of content): Troubleshooting (${at(GUIDE, '## Troubleshooting')})`] }],
  },
  {
    name: 'a test results section holding only an empty sub-heading',
    kind: 'defect',
    files: { [MD]: setSection('Failure Mode Analysis', '### Notes\n') },
    expect: [{ check: 'docs.test_results', status: 'fail', evidence: [(at) => `Failure Mode (${at(MD, '## Failure Mode Analysis')})`] }],
  },
  {
    name: 'a section title only inside a fenced code block',
    kind: 'defect',
    files: { [MD]: (t) => `${dropSection('Target Achievement')(t)}\n${fence('## Target Achievement\n- Target: 80.0%', 'markdown')}\n` },
    expect: [{ check: 'docs.test_results', status: 'fail', evidence: [() => `${MD} is missing: Target Achievement`] }],
  },
  {
    name: 'val and test in a split table, metrics.json absent: gap 6.9 pp',
    kind: 'defect',
    files: { [MD]: both(replace(VAL_BULLETS, '| Split | Loss | Accuracy |\n|---|---|---|\n| Validation | 0.044 | 98.9% |\n| Test | 0.210 | 92.0% |\n'), allTestAcc('92.0%')), [METRICS]: () => '{}' },
    expect: [{ check: 'test.val_gap', status: 'fail', evidence: [(at) => `Val acc 98.9% (${MD} line ${at(MD, '| Validation | 0.044').split(':')[1]})`, () => 'Gap |98.9 − 92| = 6.9 pp: too large'] }],
  },
  {
    name: 'test_results.md and metrics.json give different test accuracies',
    kind: 'defect',
    files: { [MD]: allTestAcc('92.0%') },
    expect: [{ check: 'consistency.metrics', status: 'fail', evidence: [() => /^test accuracy disagrees beyond the rounding of what is written: 99\.1667% \(results\/production\/metrics\.json test_acc line 10\) vs 92% \(results\/production\/test_results\.md line 10\)/m] }],
  },

  {
    name: 'an open P1 written as a bold line over its description',
    kind: 'defect',
    files: { [REPORT]: replace('No P0/P1 issues are known.', '**KI-3 (P1): crash on resize (open)**\n\nSeen in QA on 2026-11-20; no fix yet.') },
    expect: [{ check: 'qa.known_issues', status: 'fail', evidence: [(at) => `open P1 issue (${at(REPORT, '**KI-3 (P1)')}): KI-3 (P1): crash on resize (open)`] }],
  },

  // ------------------------------------------------------------------ ambiguous: error, naming each source
  {
    name: 'two different test accuracies in one document',
    kind: 'defect',
    files: { [MD]: replace('- Test Accuracy: 99.2%', '- Test Accuracy: 97.0%') },
    expect: [{ check: 'test.target', status: 'error', evidence: [(at) => `ambiguous: 2 values for the test accuracy disagree: "Test Accuracy" 99.2% (${MD}:10) vs "Test Accuracy" 97.0% (${at(MD, '- Test Accuracy: 97.0%')})`] }],
  },
  {
    name: 'a table of several models\' test accuracies',
    kind: 'defect',
    files: { [MD]: replace('## Validation vs Test', '## Comparison\n\n| Model | Test Accuracy |\n|---|---|\n| digits-cnn v0.9 | 96.1% |\n| digits-cnn v1.0 | 99.2% |\n\n## Validation vs Test') },
    expect: [{ check: 'test.target', status: 'error', evidence: [(at) => `"digits-cnn v0.9 / Test Accuracy" 96.1% (${at(MD, '| digits-cnn v0.9')})`] }],
  },
  {
    name: 'a pasted classification_report that disagrees with the written test accuracy',
    kind: 'defect',
    files: { [MD]: replace('## Per-Class Performance', `## Classification report (test set)\n\n${fence(sklearnReport('classification_report_weak9.txt'))}\n\n## Per-Class Performance`) },
    expect: [{ check: 'test.target', status: 'error', evidence: [(at) => `"classification_report accuracy accuracy" 0.9361 (${at(MD, '    accuracy                         0.9361')})`] }],
  },
  {
    name: 'a per-class table and a pasted report that differ',
    kind: 'defect',
    files: { [MD]: replace('Lowest F1: class 9', `${fence(sklearnReport('classification_report_weak9.txt'))}\n\nLowest F1: class 9`) },
    expect: [{ check: 'test.per_class', status: 'error', evidence: [(at) => `ambiguous: 2 per-class results in ${MD} differ: table at ${at(MD, '| Class | Precision')} vs report at ${at(MD, 'precision    recall')}`] }],
  },
  {
    name: 'an open issue with severity "High" (not a level the policy ranks)',
    kind: 'defect',
    files: ki('| ID | Severity | Status | Description |\n|---|---|---|---|\n| KI-1 | High | open | Export drops the softmax layer. |'),
    expect: [{ check: 'qa.known_issues', status: 'error', evidence: [(at) => `ambiguous: severity "High" (${at(REPORT, '| KI-1 | High')}) is not one of the policy's levels`] }],
  },
  {
    name: 'a P1 whose status reads both fixed and reopened',
    kind: 'defect',
    files: ki('- P1: crash on resize, fixed in v1.0.1 but reopened'),
    expect: [{ check: 'qa.known_issues', status: 'error', evidence: [(at) => `ambiguous: status of P1 issue (${at(REPORT, '- P1: crash on resize')}) reads both "fixed" and "reopened"`] }],
  },
  {
    name: 'a P0 row whose Status column says "Fixed / reopened"',
    kind: 'defect',
    files: { [REPORT]: replace('| KI-1 | P3 | open |', '| KI-1 | P0 | Fixed / reopened |') },
    expect: [{ check: 'qa.known_issues', status: 'error', evidence: [(at) => `ambiguous: status of P0 issue (${at(REPORT, '| KI-1 |')}) reads both "fixed" and "reopened"`] }],
  },
  {
    name: 'best_epoch and a val_acc history that nothing in metrics.json numbers (from 0 or from 1?)',
    kind: 'defect',
    files: { [METRICS]: both(replace('  "val_acc": 98.8889,\n', ''), replace('    "epoch": 30,\n', '')) },
    expect: [{ check: 'test.val_gap', status: 'error', evidence: [(at) => `ambiguous: best_epoch 29 in ${METRICS} may count from 1 or from 0: ${at(METRICS, '      98.8889,')} history.val_acc[28] = 98.8889 or history.val_acc[29] = 98.3333`] }],
  },
  {
    name: 'metrics.json gives the validation accuracy under two keys that disagree (val_acc and validation.accuracy)',
    kind: 'defect',
    files: { [METRICS]: replace('"val_acc": 98.8889,', '"val_acc": 98.8889,\n  "validation": { "accuracy": 0.91 },') },
    expect: [{ check: 'test.val_gap', status: 'error', evidence: [(at) => `ambiguous: val accuracy (best epoch) is written differently in ${at(METRICS, '"val_acc": 98.8889')} val_acc = 98.8889 and ${at(METRICS, '"validation": {')} validation.accuracy = 0.91`] }],
  },
  {
    name: 'val_acc written twice in metrics.json',
    kind: 'defect',
    files: { [METRICS]: replace('"val_acc": 98.8889,', '"val_acc": 98.8889,\n  "val_acc": 91.0,') },
    expect: [{ check: 'test.val_gap', status: 'error', evidence: [() => /^ambiguous: val_acc is written twice in results\/production\/metrics\.json \(lines \d+ and \d+\)/] }],
  },
];
