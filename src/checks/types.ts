import type { RunArtifacts } from '../artifacts/run.js';
import type { Policy } from '../policy/schema.js';

export const CHECK_STATUSES = ['pending', 'running', 'pass', 'warn', 'fail', 'error', 'skipped'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** The checklist's categories, in the checklist's order. */
export const CATEGORIES = [
  { id: 'training', title: 'Training Completion' },
  { id: 'test', title: 'Test Set Evaluation' },
  { id: 'export', title: 'Model Export' },
  { id: 'docs', title: 'Documentation' },
  { id: 'repro', title: 'Reproducibility' },
  { id: 'qa', title: 'Quality Assurance' },
  { id: 'consistency', title: 'Consistency and Safety' },
  { id: 'signoff', title: 'Stakeholder Approval' },
] as const;
export type CategoryId = (typeof CATEGORIES)[number]['id'];

export type MetricValue = number | string | boolean | null;
export type Metrics = Record<string, MetricValue>;

/** What a check decides. The runner adds id, title, category, remediation and timing. */
export interface CheckOutcome {
  status: Exclude<CheckStatus, 'pending' | 'running'>;
  /** Human evidence lines: what was seen, with numbers and the file it came from. */
  evidence: string[];
  metrics?: Metrics;
  /** Set when the failure is a security finding (hostile artifact): never retried. */
  security?: boolean;
  /** Overrides the check's default remediation (e.g. symptom-specific advice). */
  remediation?: string;
}

export interface CheckResult {
  id: string;
  category: CategoryId;
  title: string;
  status: CheckStatus;
  evidence: string[];
  metrics: Metrics;
  remediation: string | null;
  duration_ms: number;
  security?: boolean;
  /** Progress of a running heavy check, 0..1. */
  progress?: number;
}

export interface CheckProgress {
  done: number;
  total: number;
  /** Short label, e.g. "parity" or "latency". */
  label: string;
}

export interface CheckContext {
  run: RunArtifacts;
  policy: Policy;
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
}

export interface CheckDefinition {
  id: string;
  category: CategoryId;
  /** The checklist's wording. */
  title: string;
  /** The checklist's "If unchecked" text. */
  remediation: string;
  /** Heavy checks (onnxruntime) run on the heavy queue, one at a time per worker. */
  heavy: boolean;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}
