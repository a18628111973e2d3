import { Decimal } from '../parse/decimal.js';
import { describeSourced, readTestAccuracy } from '../parse/run-docs.js';
import { defineCheck, fail, pass } from './define.js';

export const check = defineCheck({
  id: 'test.target',
  category: 'test',
  title: 'Test accuracy meets or exceeds target',
  heavy: false,
  remediation:
    'If test_acc < target: Model does not meet requirements, cannot deploy. Action: go back to model optimisation (architecture, data, hyperparameters) and retrain, or re-evaluate the target if unrealistic given data quality (accepting a lower target needs stakeholder approval documented in final_report.md).',
  async run({ run, policy }) {
    const acc = await readTestAccuracy(run, policy);
    const target = policy.target_accuracy;
    if (!acc) {
      return fail(
        [
          `no test accuracy found in ${policy.paths.test_results} ("Test Accuracy: 82.8%") or ${policy.paths.metrics} (test_acc)`,
        ],
        {
          target,
        },
      );
    }
    // Say when the document of record gave no number and the JSON was used instead.
    const fallback =
      acc.file === policy.paths.test_results
        ? []
        : [`no "Test Accuracy" line in ${policy.paths.test_results} (missing, empty or without it); used ${acc.file}`];
    // Compared as written, in decimal: 89.9 ≥ 89.9, and 0.899 is 89.9 exactly.
    const goal = Decimal.fromNumber(target);
    const margin = acc.exact.sub(goal);
    const metrics = { test_accuracy: acc.percent, target, margin_pp: margin.toNumber(), read_as: acc.read };
    if (acc.exact.ge(goal)) {
      return pass(
        [`Test accuracy ${describeSourced(acc)} ≥ target ${goal}%`, `Margin: +${margin} pp`, ...fallback],
        metrics,
      );
    }
    return fail(
      [`Test accuracy ${describeSourced(acc)} < target ${goal}%`, `Gap: ${margin.abs()} pp below target`, ...fallback],
      metrics,
    );
  },
});
