import type { CheckResult } from '../checks/types.js';

/** Progress of a running check as its worker reports it (kept beside the result while it runs). */
export interface ProgressInfo {
  /** 0..1 */
  progress: number;
  label: string;
  done: number;
  total: number;
}

/**
 * A running check as readers see it: the fraction, and the worker's progress as its last evidence
 * line ("latency 40 % (400/1000)"; the gate message shows its label and percent).
 */
export function withProgress(r: CheckResult, info: ProgressInfo): CheckResult {
  return {
    ...r,
    progress: info.progress,
    evidence: [...r.evidence, `${info.label} ${Math.floor(info.progress * 100)} % (${info.done}/${info.total})`],
  };
}
