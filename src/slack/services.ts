import type { Logger } from 'pino';
import type { ReadinessConfig } from '../config/readiness-config.js';
import type { RerunRequest, RerunResult, SubmitRequest, SubmitResult } from '../evaluations/service.js';
import type { GateMetrics } from '../observability/metrics.js';
import type { EvaluationStore } from '../store/redis-store.js';
import type { Evaluation } from '../store/types.js';
import type { ApproverDirectory } from './auth.js';
import type { GateRenderer } from './renderer.js';

/**
 * What the listeners need of the evaluation service (src/evaluations/service.ts): create an
 * evaluation of a run and dispatch its checks, rerun one check, the run's current digest.
 */
export interface EvaluationSubmitter {
  submit(req: SubmitRequest): Promise<SubmitResult>;
  /** Runs one check again on unchanged artifacts, or creates a new evaluation when they changed. */
  rerunCheck(req: RerunRequest): Promise<RerunResult>;
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
