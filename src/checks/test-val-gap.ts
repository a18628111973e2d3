import { defineCheck, fail, fmt, pass } from './define.js';
import { describeSourced, readTestAccuracy, readValAccuracy } from '../parse/run-docs.js';

export const check = defineCheck({
  id: 'test.val_gap',
  category: 'test',
  title: 'Validation and test accuracy gap acceptable (<5%)',
  heavy: false,
  remediation:
    'Investigate distribution mismatch, potential overfitting to validation set: train/val/test distribution mismatch? Validation set too easy or leaked information? If mismatch: fix data split, restart pipeline; if test harder: accept as realistic performance, document; if val leaked: re-split data, restart pipeline.',
  async run({ run, policy }) {
    const [val, test] = await Promise.all([readValAccuracy(run, policy), readTestAccuracy(run, policy)]);
    const missing: string[] = [];
    if (!val) missing.push(`validation accuracy (${policy.paths.metrics} val_acc or "Validation Accuracy:" in ${policy.paths.test_results})`);
    if (!test) missing.push(`test accuracy ("Test Accuracy:" in ${policy.paths.test_results} or ${policy.paths.metrics} test_acc)`);
    if (!val || !test) return fail([`cannot compute the gap: missing ${missing.join(' and ')}`]);
    const gap = Math.abs(val.percent - test.percent);
    const { max_pp, excellent_pp } = policy.val_gap;
    const grade = gap < excellent_pp ? 'excellent' : gap < max_pp ? 'acceptable' : 'too large';
    const evidence = [
      `Val acc ${describeSourced(val)}`,
      `Test acc ${describeSourced(test)}`,
      `Gap |${fmt(val.percent)} − ${fmt(test.percent)}| = ${fmt(gap)} pp: ${grade} (excellent < ${fmt(excellent_pp)}, acceptable < ${fmt(max_pp)})`,
    ];
    if (test.file !== policy.paths.test_results) {
      evidence.push(`no "Test Accuracy" line in ${policy.paths.test_results} (missing, empty or without it); used ${test.file}`);
    }
    const metrics = { val_accuracy: val.percent, test_accuracy: test.percent, gap_pp: Number(gap.toFixed(4)), grade };
    return gap < max_pp ? pass(evidence, metrics) : fail(evidence, metrics);
  },
});
