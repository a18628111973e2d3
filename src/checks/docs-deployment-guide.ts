import { defineCheck } from './define.js';
import { checkDocumentSections } from './sections.js';

export const check = defineCheck({
  id: 'docs.deployment_guide',
  category: 'docs',
  title: 'deployment_guide.md created with all required sections',
  heavy: false,
  remediation:
    'Write docs/deployment_guide.md with every section the policy requires (docs.deployment_guide_sections; the evidence names the missing ones); examples/digits-run/docs/deployment_guide.md in the readiness-gate repository is a complete one.',
  run: ({ run, policy }) =>
    checkDocumentSections(run, policy, policy.paths.deployment_guide, policy.docs.deployment_guide_sections),
});
