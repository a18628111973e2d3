import { SIGNOFF_ROLES, type SignoffRole } from '../policy/schema.js';
import { check as checkpointBest } from './checkpoint-best.js';
import { check as checkpointLast } from './checkpoint-last.js';
import { check as consistencyMetrics } from './consistency-metrics.js';
import { check as docsDeploymentGuide } from './docs-deployment-guide.js';
import { check as docsModelCard } from './docs-model-card.js';
import { check as docsMonitoring } from './docs-monitoring.js';
import { check as docsTestResults } from './docs-test-results.js';
import { check as exportInference } from './export-inference.js';
import { check as exportParity } from './export-parity.js';
import { check as exportPresent } from './export-present.js';
import { check as exportProvenance } from './export-provenance.js';
import { check as qaCodeReview } from './qa-code-review.js';
import { check as qaKnownIssues } from './qa-known-issues.js';
import { check as reproDocumented } from './repro-documented.js';
import { check as reproEnvSnapshot } from './repro-env-snapshot.js';
import { check as testEvaluated } from './test-evaluated.js';
import { check as testPerClass } from './test-per-class.js';
import { check as testTarget } from './test-target.js';
import { check as testValGap } from './test-val-gap.js';
import { check as trainingCompleted } from './training-completed.js';
import type { CheckDefinition } from './types.js';

/** Every automated check, in the checklist's order. */
export const AUTOMATED_CHECKS: readonly CheckDefinition[] = [
  trainingCompleted,
  checkpointBest,
  checkpointLast,
  testEvaluated,
  testTarget,
  testValGap,
  testPerClass,
  exportPresent,
  exportParity,
  exportInference,
  exportProvenance,
  docsDeploymentGuide,
  docsTestResults,
  docsModelCard,
  docsMonitoring,
  reproDocumented,
  reproEnvSnapshot,
  qaKnownIssues,
  qaCodeReview,
  consistencyMetrics,
];

export const SIGNOFF_TITLES: Record<SignoffRole, string> = {
  technical: 'Technical lead approves deployment',
  product: 'Product owner approves deployment',
  compliance: 'Compliance/legal approves deployment',
};

export const SIGNOFF_CHECK_IDS = SIGNOFF_ROLES.map((r) => `signoff.${r}`);

export function findCheck(id: string): CheckDefinition | undefined {
  return AUTOMATED_CHECKS.find((c) => c.id === id);
}

export const CHECK_IDS: readonly string[] = [...AUTOMATED_CHECKS.map((c) => c.id), ...SIGNOFF_CHECK_IDS];
