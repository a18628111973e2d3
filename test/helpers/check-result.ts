import type { CheckResult, CheckStatus } from '../../src/checks/types.js';

/** A check result with nothing but its id and status (category "test"), for the gate's rules. */
export const checkResult = (id: string, status: CheckStatus, extra: Partial<CheckResult> = {}): CheckResult => ({
  id,
  category: 'test',
  title: id,
  status,
  evidence: [],
  metrics: {},
  remediation: null,
  duration_ms: 0,
  ...extra,
});
