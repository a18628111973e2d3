import { defineCheck, fail, pass } from './define.js';
import { findLabeled } from '../parse/markdown.js';
import { firstNumber } from '../parse/numbers.js';

/** The four metrics the checklist greps for, with the label shapes people write. */
const REQUIRED = [
  { key: 'accuracy', name: 'Test Accuracy', label: /^(?:overall\s+)?test(?:\s+set)?\s+acc(?:uracy)?\b/i },
  { key: 'f1', name: 'Test F1', label: /^(?:test(?:\s+set)?\s+)?(?:macro[-\s]+|weighted[-\s]+)?f1(?:[-\s]score)?\b/i },
  { key: 'precision', name: 'Test Precision', label: /^(?:test(?:\s+set)?\s+)?(?:macro[-\s]+|weighted[-\s]+)?precision\b/i },
  { key: 'recall', name: 'Test Recall', label: /^(?:test(?:\s+set)?\s+)?(?:macro[-\s]+|weighted[-\s]+)?recall\b/i },
] as const;

export const check = defineCheck({
  id: 'test.evaluated',
  category: 'test',
  title: 'Comprehensive test set evaluation completed',
  heavy: false,
  remediation: 'Run test set evaluation (Step 3 of workflow.md), generate test_results.md.',
  async run({ run, policy }) {
    const rel = policy.paths.test_results;
    if (!(await run.exists(rel))) return fail([`${rel} not found: test results are not documented`]);
    const text = await run.readText(rel, policy.limits.max_text_bytes);
    if (text.trim() === '') return fail([`${rel} is empty`]);
    const evidence: string[] = [];
    const missing: string[] = [];
    const metrics: Record<string, number | null> = {};
    for (const m of REQUIRED) {
      const hit = findLabeled(text, m.label).find((h) => firstNumber(h.value) !== null);
      if (!hit) {
        missing.push(m.name);
        metrics[m.key] = null;
        continue;
      }
      const n = firstNumber(hit.value)!;
      metrics[m.key] = n.value;
      evidence.push(`${hit.label}: ${hit.value} (${rel}:${hit.line})`);
    }
    if (missing.length > 0) {
      return fail([`${rel} is missing ${missing.join(', ')} (no "<metric>: <number>" line or table row found)`, ...evidence], metrics);
    }
    return pass(evidence, metrics);
  },
});
