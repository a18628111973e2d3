import type { Logger } from 'pino';
import type { ReadinessConfig } from '../config/readiness-config.js';
import type { GateMetrics } from '../observability/metrics.js';
import type { EvaluationStore } from '../store/redis-store.js';
import type { Evaluation } from '../store/types.js';
import type { ApproverDirectory } from './auth.js';
import type { GateRenderer } from './renderer.js';

export interface SubmitRequest {
  run: string;
  requester: string;
  channel: string | null;
  target?: number | undefined;
  policy?: string | undefined;
  /** Deterministic id (from the command's trigger id): submitting it again is the same evaluation. */
  evaluationId?: string | undefined;
}

export interface SubmitResult {
  evaluation: Evaluation;
  superseded: { id: string; version: number } | null;
}

/** What `/readiness rerun <run> <check-id>` did. */
export type RerunResult =
  /** The check runs again within the run's current evaluation (artifacts unchanged). */
  | { kind: 'check'; evaluation: Evaluation; check: string }
  /** The check is still pending or running; nothing to do. */
  | { kind: 'busy'; evaluation: Evaluation; check: string }
  /** No current evaluation of these artifacts: a whole new evaluation was created. */
  | { kind: 'new'; result: SubmitResult; why: string };

/**
 * Creates an evaluation of a run (resolve the run under the artifact root, resolve the policy,
 * hash the manifest, store it) and dispatches its checks. The queue module provides the
 * production implementation; tests may run checks in process.
 */
export interface EvaluationSubmitter {
  submit(req: SubmitRequest): Promise<SubmitResult>;
  /** Runs one check again on unchanged artifacts, or creates a new evaluation when they changed. */
  rerunCheck(req: {
    run: string;
    check: string;
    requester: string;
    channel: string | null;
    evaluationId?: string | undefined;
  }): Promise<RerunResult>;
  /** sha256 manifest digest of the run's files as they are now (detects artifacts changed since the evaluation). */
  currentDigest(evaluation: Evaluation): Promise<string>;
  /** Refuses (GateError) a run that does not exist or leaves the artifact root: a few syscalls, before the ack promises a message. */
  checkRun(run: string): Promise<void>;
}

/** Everything the listeners use; built once in app.ts. */
export interface SlackServices {
  store: EvaluationStore;
  config: ReadinessConfig;
  approvers: ApproverDirectory;
  renderer: GateRenderer;
  submitter: EvaluationSubmitter;
  log: Logger;
  /** Sign-off attempts are counted here by role and decision. */
  metrics?: GateMetrics | undefined;
}

/** How processors of taken-in commands and clicks answer; every call is bounded in time and retries. */
export interface Replies {
  /** Web API client with a per-request timeout and a bounded retry budget. */
  client: import('@slack/bolt').webApi.WebClient;
  /** Posts to a response_url (timeout, bounded retries). */
  respond(url: string, message: Record<string, unknown>): Promise<void>;
}
