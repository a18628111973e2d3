import { describe, expect, it } from 'vitest';
import { parseMarkdown } from '../../src/parse/markdown.js';
import {
  AmbiguityError,
  classificationReports,
  extractMetrics,
  type MetricWanted,
  meaningOf,
  perClassSources,
  pickMetric,
} from '../../src/parse/metrics.js';

const doc = (text: string) => parseMarkdown(text, 'r.md');
const TEST_ACC: MetricWanted = { metric: 'accuracy', split: 'test', aggregates: [[undefined, 'overall', 'micro']] };
const VAL_ACC: MetricWanted = { ...TEST_ACC, split: 'val' };
const pick = (text: string, want = TEST_ACC, defaultSplit?: 'test') =>
  pickMetric(extractMetrics(doc(text), { defaultSplit }), want);

describe('meaningOf: one vocabulary for labels, headers and row names', () => {
  it.each([
    ['Test Accuracy', { metric: 'accuracy', split: 'test' }],
    ['val_acc', { metric: 'accuracy', split: 'val' }],
    ['Best validation accuracy', { metric: 'accuracy', split: 'val', epoch: 'best' }],
    ['Macro F1-score', { metric: 'f1', aggregate: 'macro' }],
    ['weighted avg', { aggregate: 'weighted' }],
    ['Held-out top-1 acc', { metric: 'accuracy', split: 'test' }],
    ['Recall (per-class)', { metric: 'recall', aggregate: 'class' }],
  ])('%s', (label, meaning) => {
    expect(meaningOf(label)).toEqual(meaning);
  });

  it('targets, gaps, extremes and counts are not the metric itself; two metrics or splits conflict', () => {
    expect(meaningOf('Target accuracy').excluded).toBe('target');
    expect(meaningOf('Val-test gap').excluded).toBe('gap');
    expect(meaningOf('Lowest per-class F1').excluded).toBe('lowest');
    expect(meaningOf('Test samples').excluded).toBe('samples');
    expect(meaningOf('Precision / Recall').conflict).toBe('names precision and recall');
    expect(meaningOf('Validation vs Test accuracy').conflict).toBe('names test and val');
  });
});

describe('extractMetrics: every form, with its line', () => {
  it('lines, bold labels, and the split from the section title', () => {
    const p = pick('# Results\n\n## Test set\n\n- **Accuracy**: 91.5%\n');
    expect(p?.accuracy.exact.toString()).toBe('91.5');
    expect(p?.value.line).toBe(5);
    expect(pick('# Results\n\n## Validation vs Test\n\n- Accuracy: 91.5%\n', TEST_ACC, 'test')).toBeNull();
  });

  it('a table with one column per metric', () => {
    const p = pick(
      '## Test\n\n| Accuracy | F1 | Precision | Recall |\n|---|---|---|---|\n| 0.915 | 0.91 | 0.92 | 0.90 |\n',
    );
    expect([p?.accuracy.exact.toString(), p?.accuracy.read, p?.value.line]).toEqual(['91.5', 'fraction', 5]);
  });

  it('| Metric | Validation | Test | reads the Test column for the test and the Validation column for val', () => {
    const text = '| Metric | Validation | Test |\n|---|---|---|\n| Accuracy | 98.9% | 91.0% |\n| F1 | 0.98 | 0.90 |\n';
    expect(pick(text)?.accuracy.exact.toString()).toBe('91');
    expect(pick(text, VAL_ACC)?.accuracy.exact.toString()).toBe('98.9');
  });

  it('| Split | Loss | Accuracy | rows', () => {
    const text = '| Split | Loss | Accuracy |\n|---|---|---|\n| Val | 0.1 | 98.6% |\n| Test | 0.2 | 0.989 |\n';
    expect(pick(text)?.accuracy.exact.toString()).toBe('98.9');
    expect(pick(text, VAL_ACC)?.value.line).toBe(3);
  });

  it('scikit-learn classification_report in a code block (accuracy from the f1-score column)', () => {
    const report =
      '```\n              precision    recall  f1-score   support\n\n           0       1.00      0.97      0.99        36\n     digit 1       0.95      1.00      0.97        36\n\n    accuracy                           0.98        72\n   macro avg       0.97      0.99      0.98        72\nweighted avg       0.97      0.98      0.98        72\n```\n';
    const d = doc(`# Test results\n\n${report}`);
    expect(classificationReports(d)[0]!.rows.map((r) => r.label)).toEqual([
      '0',
      'digit 1',
      'accuracy',
      'macro avg',
      'weighted avg',
    ]);
    expect(perClassSources(d)[0]!.rows.map((r) => [r.name, r.f1?.text, r.line])).toEqual([
      ['0', '0.99', 6],
      ['digit 1', '0.97', 7],
    ]);
    const acc = pickMetric(extractMetrics(d), TEST_ACC);
    expect([acc?.accuracy.exact.toString(), acc?.value.line]).toEqual(['98', 9]);
    const f1 = pickMetric(extractMetrics(d), {
      metric: 'f1',
      split: 'test',
      aggregates: [[undefined, 'overall'], ['macro']],
    });
    expect([f1?.value.raw, f1?.value.line]).toEqual(['0.98', 10]);
  });

  it('per-class rows and summary rows are never the overall value', () => {
    expect(
      pick('# Test\n\n| Class | Recall | F1 |\n|---|---|---|\n| 0 | 0.9 | 0.95 |\n| macro avg | 0.9 | 0.95 |\n', {
        metric: 'f1',
        split: 'test',
        aggregates: [[undefined, 'overall']],
      }),
    ).toBeNull();
  });
});

describe('ambiguity: error naming each source, never a guess', () => {
  it('two test accuracies that disagree beyond rounding', () => {
    expect(() => pick('# Test\n- Test accuracy: 99.2%\n- Test accuracy: 97.0%\n')).toThrow(AmbiguityError);
    expect(() => pick('# Test\n- Test accuracy: 99.2%\n- Test accuracy: 97.0%\n')).toThrow(
      /^ambiguous: 2 values for the test accuracy disagree: "Test accuracy" 99\.2% \(r\.md:2\) vs "Test accuracy" 97\.0% \(r\.md:3\)$/,
    );
  });

  it('values that agree within the rounding of what is written are one value', () => {
    expect(
      pick('# Test\n- Test accuracy: 99.2%\n\n| Split | Accuracy |\n|---|---|\n| Test | 99.17% |\n')?.value.line,
    ).toBe(2);
  });

  it('a table of several models', () => {
    expect(() => pick('| Model | Test Accuracy |\n|---|---|\n| v0.9 | 96.1% |\n| v1.0 | 99.2% |\n')).toThrow(
      /"v0\.9 \/ Test Accuracy" 96\.1% \(r\.md:3\) vs "v1\.0 \/ Test Accuracy" 99\.2% \(r\.md:4\)/,
    );
  });

  it('a report that disagrees with a line', () => {
    const text =
      '# Test\n- Test accuracy: 99.2%\n\n```\n              precision    recall  f1-score   support\n\n    accuracy                           0.94       360\n```\n';
    expect(() => pick(text)).toThrow(/"classification_report accuracy accuracy" 0\.94 \(r\.md:7\)/);
  });
});
