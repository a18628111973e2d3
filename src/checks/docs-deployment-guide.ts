import { defineCheck } from './define.js';
import { checkDocumentSections } from './sections.js';

export const check = defineCheck({
  id: 'docs.deployment_guide',
  category: 'docs',
  title: 'deployment_guide.md created with all required sections',
  heavy: false,
  remediation: 'Create deployment_guide.md following template in workflow.md Step 6.',
  run: ({ run, policy }) => checkDocumentSections(run, policy, policy.paths.deployment_guide, policy.docs.deployment_guide_sections),
});
