import { Decimal } from '../parse/decimal.js';
import { describeSourced, readTestAccuracy, readValAccuracy } from '../parse/run-docs.js';
import { defineCheck, fail, pass } from './define.js';

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
    if (!val)
      missing.push(
        `validation accuracy (${policy.paths.metrics} val_acc or "Validation Accuracy:" in ${policy.paths.test_results})`,
      );
    if (!test)
      missing.push(
        `test accuracy ("Test Accuracy:" in ${policy.paths.test_results} or ${policy.paths.metrics} test_acc)`,
      );
    if (!val || !test) return fail([`cannot compute the gap: missing ${missing.join(' and ')}`]);
    // Exact decimal arithmetic: 87.8 (from 0.878) − 82.8 is 5, not 4.999999999999986.
    const gap = val.exact.sub(test.exact).abs();
    const max = Decimal.fromNumber(policy.val_gap.max_pp);
    const excellent = Decimal.fromNumber(policy.val_gap.excellent_pp);
    const grade = gap.lt(excellent) ? 'excellent' : gap.lt(max) ? 'acceptable' : 'too large';
    const evidence = [
      `Val acc ${describeSourced(val)}`,
      `Test acc ${describeSourced(test)}`,
      `Gap |${val.exact} − ${test.exact}| = ${gap} pp: ${grade} (excellent < ${excellent}, acceptable < ${max})`,
    ];
    if (test.file !== policy.paths.test_results) {
      evidence.push(
        `no "Test Accuracy" line in ${policy.paths.test_results} (missing, empty or without it); used ${test.file}`,
      );
    }
    const metrics = { val_accuracy: val.percent, test_accuracy: test.percent, gap_pp: gap.toNumber(), grade };
    return gap.lt(max) ? pass(evidence, metrics) : fail(evidence, metrics);
  },
});
