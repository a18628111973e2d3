import { defineCheck, fail } from './define.js';
import { checkDocumentSections } from './sections.js';

export const check = defineCheck({
  id: 'docs.test_results',
  category: 'docs',
  title: 'test_results.md complete with comprehensive analysis',
  heavy: false,
  remediation:
    'Complete results/production/test_results.md with every section the policy requires (docs.test_results_sections; the evidence names the missing ones); examples/digits-run/results/production/test_results.md in the readiness-gate repository is a complete one.',
  async run({ run, policy }) {
    const outcome = await checkDocumentSections(
      run,
      policy,
      policy.paths.test_results,
      policy.docs.test_results_sections,
    );
    if (outcome.status === 'pass' && !(await run.exists(policy.paths.confusion_matrix))) {
      return fail(
        [
          ...outcome.evidence,
          `${policy.paths.confusion_matrix} (the confusion matrix the document refers to) not found`,
        ],
        outcome.metrics,
      );
    }
    return outcome;
  },
});
