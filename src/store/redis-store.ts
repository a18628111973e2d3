import { randomBytes } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Manifest } from '../artifacts/manifest.js';
import { checkRelativePath } from '../artifacts/run.js';
import { AUTOMATED_CHECKS, findCheck } from '../checks/registry.js';
import { pendingResult } from '../checks/runner.js';
import type { CheckDefinition, CheckResult } from '../checks/types.js';
import { assembleReport, type GateReport } from '../engine.js';
import { GateError } from '../errors.js';
import { minApprovalsFor, type SignoffRecord, withExpiry, withoutSelfApprovals } from '../gate/evaluate.js';
import { isSettled } from '../gate/terminal.js';
import { describeOverride } from '../policy/authority.js';
import type { EffectivePolicy } from '../policy/load.js';
import { type ProgressInfo, withProgress } from '../report/progress.js';
import { neverWaivableReason, type WaiverRecord, withWaiverExpiry } from '../waivers/waivers.js';
import { parseStreamEntry } from './audit-entry.js';
import { type LuaScript, runScript } from './lua.js';
import {
  APPLY_CHECK_RESULT,
  CREATE_EVALUATION,
  DECIDE_WAIVER,
  DROP_FROM_OPEN,
  NOTE_WAIVER_EXPIRY,
  RECORD_SIGNOFF,
  RELEASE_CHECK,
  REQUEST_WAIVER,
  RERUN_CHECK,
  SET_CHECK_PROGRESS,
  SET_CHECK_RUNNING,
  SET_MESSAGE_REF,
  WITHDRAW_SIGNOFF,
} from './scripts.js';
import type {
  AuditEntry,
  Evaluation,
  EvaluationState,
  SignoffAttempt,
  SignoffAttemptResult,
  SignoffRefusal,
  SlackMessageRef,
  WaiverAttemptResult,
  WaiverDecisionAttempt,
  WaiverRefusal,
  WaiverRequestAttempt,
  WithdrawAttempt,
  WithdrawResult,
} from './types.js';

export interface StoreOptions {
  /** Key prefix; keys are `<prefix>:…`. */
  prefix?: string;
  now?: () => Date;
  newId?: () => string;
  /** Automated checks an evaluation holds (defaults to the registry). */
  checks?: readonly CheckDefinition[];
}

export interface CreateEvaluationInput {
  run: string;
  manifest: Manifest;
  policy: EffectivePolicy;
  requester: string;
  channel: string | null;
  /** Mark the run's previous evaluation superseded (default true: the latest evaluation of a run wins). */
  supersede?: boolean;
  /** A caller-chosen id (derived from a Slack command, so processing it twice is one evaluation); default a fresh one. */
  id?: string;
}

export interface CreateEvaluationOutcome {
  evaluation: Evaluation;
  /** The run's previous evaluation, now superseded, and its new version (so its message can be re-rendered). */
  superseded: { id: string; version: number } | null;
}

export type RunningOutcome = 'started' | 'final' | 'superseded' | 'unknown' | 'unknown_check';
export type ApplyOutcome = 'applied' | 'duplicate' | 'stale' | 'unknown';
export type RerunOutcome = 'reset' | 'busy' | 'superseded' | 'unknown' | 'unknown_check';

/** Evaluation ids: sortable by time, no ':' (they go into BullMQ job ids). */
export function defaultEvaluationId(now: Date = new Date()): string {
  return `ev-${now.getTime().toString(36)}-${randomBytes(5).toString('hex')}`;
}

export const EVALUATION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{2,80}$/;

const FINAL = new Set(['pass', 'warn', 'fail', 'error', 'skipped']);

/** A report (checklist, gate, digests) from a stored state — the same assembly the CLI uses. */
export function reportFromState(state: EvaluationState, now?: Date): GateReport {
  const e = state.evaluation;
  return assembleReport({
    run: e.run,
    effective: e.policy,
    manifest: e.manifest,
    checks: state.checks,
    signoffs: state.signoffs,
    waivers: state.waivers ?? [],
    ...(now ? { now } : {}),
  });
}

/** A stored waiver record, with the arrays Lua's cjson writes as `{}` when empty put right. */
function parseWaiver(raw: string): WaiverRecord {
  const w = JSON.parse(raw) as WaiverRecord;
  return {
    ...w,
    roles: Array.isArray(w.roles) ? w.roles : [],
    approvals: Array.isArray(w.approvals) ? w.approvals : [],
    rejection: w.rejection && typeof w.rejection === 'object' && 'user' in w.rejection ? w.rejection : null,
    approved_at: typeof w.approved_at === 'string' ? w.approved_at : null,
  };
}

/** Default signoff.max_age_days for evaluations stored before the policy had it. */
const DEFAULT_MAX_AGE_DAYS = 30;

function maxAgeDays(policy: EffectivePolicy | undefined): number {
  return policy?.policy?.signoff?.max_age_days ?? DEFAULT_MAX_AGE_DAYS;
}

/**
 * Evaluations, check results, sign-offs and the audit log in Redis. Every state change is one Lua
 * script (see scripts.ts); reads of a whole evaluation are one MULTI snapshot; the gate is always
 * recomputed from stored results and sign-offs.
 */
export class EvaluationStore {
  readonly prefix: string;
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly checks: readonly CheckDefinition[];

  constructor(
    readonly redis: Redis,
    opts: StoreOptions = {},
  ) {
    this.prefix = `${opts.prefix ?? 'readiness'}:`;
    this.now = opts.now ?? (() => new Date());
    this.newId = opts.newId ?? (() => defaultEvaluationId(this.now()));
    this.checks = opts.checks ?? AUTOMATED_CHECKS;
  }

  /** The store's clock (injected in tests): what waiver expiry and sign-off age are measured against. */
  clock(): Date {
    return this.now();
  }

  private key(id: string, part?: string): string {
    return part ? `${this.prefix}eval:${id}:${part}` : `${this.prefix}eval:${id}`;
  }

  /** Sign-offs belong to the pair (artifact digest, policy digest), not to one evaluation. */
  private pairKey(digest: string, policyDigest: string, part: 'roles' | 'signers'): string {
    return `${this.prefix}signoff:${digest}:${policyDigest}:${part}`;
  }

  /** Waivers belong to the same pair as sign-offs. */
  private waiverKey(digest: string, policyDigest: string): string {
    return `${this.prefix}waiver:${digest}:${policyDigest}`;
  }

  /** The pair's waivers key of an evaluation (a key no pair uses when it does not exist). */
  private async waiverKeyOf(evaluationId: string): Promise<string> {
    if (!EVALUATION_ID.test(evaluationId)) return `${this.prefix}waiver:none`;
    const [digest, policyDigest] = await this.redis.hmget(this.key(evaluationId), 'digest', 'policy_digest');
    return this.waiverKey(digest ?? 'none', policyDigest ?? 'none');
  }

  /** The pair keys of an evaluation (its digests never change), or keys no pair uses when it does not exist. */
  private async pairKeys(
    evaluationId: string,
  ): Promise<{ roles: string; signers: string; policy: EffectivePolicy | undefined }> {
    if (!EVALUATION_ID.test(evaluationId))
      return {
        roles: `${this.prefix}signoff:none:roles`,
        signers: `${this.prefix}signoff:none:signers`,
        policy: undefined,
      };
    const [digest, policyDigest, policy] = await this.redis.hmget(
      this.key(evaluationId),
      'digest',
      'policy_digest',
      'policy',
    );
    const d = digest ?? 'none';
    const p = policyDigest ?? 'none';
    return {
      roles: this.pairKey(d, p, 'roles'),
      signers: this.pairKey(d, p, 'signers'),
      policy: policy ? (JSON.parse(policy) as EffectivePolicy) : undefined,
    };
  }

  private get openKey(): string {
    return `${this.prefix}open`;
  }

  get auditKey(): string {
    return `${this.prefix}audit`;
  }

  private runKey(run: string): string {
    return `${this.prefix}run:${checkRelativePath(run, 'run name')}`;
  }

  private run<K extends string, A, R>(
    script: LuaScript<K, A, R>,
    keys: { readonly [k in K]: string },
    args: A,
  ): Promise<R> {
    return runScript(this.redis, script, keys, args);
  }

  /** The keys of one evaluation the transitions touch, by their names in the scripts. */
  private evalKeys(id: string) {
    return {
      meta: this.key(id),
      checks: this.key(id, 'checks'),
      status: this.key(id, 'status'),
      tokens: this.key(id, 'tokens'),
      progress: this.key(id, 'progress'),
      stream: this.auditKey,
    };
  }

  private definition(checkId: string): CheckDefinition {
    const def = this.checks.find((c) => c.id === checkId) ?? findCheck(checkId);
    if (!def) throw new GateError('USAGE', `unknown check id "${checkId}"`);
    return def;
  }

  async createEvaluation(input: CreateEvaluationInput): Promise<CreateEvaluationOutcome> {
    const run = checkRelativePath(input.run, 'run name');
    const id = input.id ?? this.newId();
    if (!EVALUATION_ID.test(id)) throw new GateError('INTERNAL', `evaluation id "${id}" is not usable in job ids`);
    const at = this.now();
    const pending: Record<string, string> = {};
    for (const def of this.checks) pending[def.id] = JSON.stringify(pendingResult(def, ['queued']));
    const fields = {
      run,
      manifest: JSON.stringify(input.manifest),
      digest: input.manifest.digest,
      policy: JSON.stringify(input.policy),
      policy_digest: input.policy.digest,
      requester: input.requester,
      channel: input.channel ?? '',
      message: '',
      allow_self_approval: input.policy.policy.signoff.allow_self_approval ? '1' : '0',
      // the run's own overrides of the team policy, for the audit entry
      policy_overrides: JSON.stringify((input.policy.applied ?? []).map(describeOverride)),
    };
    const checkIds = this.checks.map((c) => c.id);
    const res = await this.run(
      CREATE_EVALUATION,
      {
        ...this.evalKeys(id),
        runKey: this.runKey(run),
        evals: `${this.prefix}evals`,
        open: `${this.prefix}open`,
        pair: this.pairKey(input.manifest.digest, input.policy.digest, 'roles'),
      },
      {
        id,
        prefix: this.prefix,
        at: at.toISOString(),
        atMs: at.getTime(),
        supersede: input.supersede !== false,
        requester: input.requester,
        run,
        fields: JSON.stringify(fields),
        pending: JSON.stringify(pending),
        checkIds: JSON.stringify(checkIds),
      },
    );
    if (res[0] !== 1) throw new GateError('INTERNAL', `evaluation id ${id} already exists`);
    const evaluation = await this.getEvaluation(id);
    if (!evaluation) throw new GateError('INTERNAL', `evaluation ${id} vanished after creation`);
    const supersededId = res[1] ?? '';
    return { evaluation, superseded: supersededId ? { id: supersededId, version: Number(res[2]) } : null };
  }

  /** Marks a check running under `token` (the attempt allowed to write its result). */
  async setCheckRunning(
    evaluationId: string,
    checkId: string,
    token: string,
    worker = 'worker',
  ): Promise<{ outcome: RunningOutcome; version: number }> {
    const def = this.definition(checkId);
    const running: CheckResult = { ...pendingResult(def, [`running on ${worker}`]), status: 'running' };
    const skipped: CheckResult = {
      ...pendingResult(def, ['not run: the evaluation was superseded by a newer one']),
      status: 'skipped',
    };
    const [outcome, version] = await this.run(SET_CHECK_RUNNING, this.evalKeys(evaluationId), {
      check: checkId,
      token,
      at: this.now().toISOString(),
      worker,
      running: JSON.stringify(running),
      skipped: JSON.stringify(skipped),
    });
    return { outcome: outcome as RunningOutcome, version: Number(version) };
  }

  /** Progress of a running check (0..1); ignored unless `token` still owns the check. Returns the new version or null. */
  async setCheckProgress(
    evaluationId: string,
    checkId: string,
    token: string,
    p: ProgressInfo,
  ): Promise<number | null> {
    const v = await this.run(SET_CHECK_PROGRESS, this.evalKeys(evaluationId), {
      check: checkId,
      token,
      progress: JSON.stringify(p),
      at: this.now().toISOString(),
    });
    return Number(v) > 0 ? Number(v) : null;
  }

  /**
   * Stores a final result exactly once: only the attempt whose token owns the running check may
   * write, and a check that is already final is never written again.
   */
  async applyCheckResult(
    evaluationId: string,
    checkId: string,
    token: string,
    result: CheckResult,
    worker = 'worker',
    opts: { force?: boolean } = {},
  ): Promise<{ outcome: ApplyOutcome; version: number }> {
    if (!FINAL.has(result.status)) throw new GateError('INTERNAL', `result status ${result.status} is not final`);
    const [outcome, version] = await this.run(APPLY_CHECK_RESULT, this.evalKeys(evaluationId), {
      check: checkId,
      token,
      result: JSON.stringify(result),
      resultStatus: result.status,
      at: this.now().toISOString(),
      worker,
      security: result.security === true,
      force: opts.force === true,
    });
    return { outcome: outcome as ApplyOutcome, version: Number(version) };
  }

  /** Hands a running check back (its job returns to the queue). Returns the new version or null. */
  async releaseCheck(evaluationId: string, checkId: string, token: string, worker = 'worker'): Promise<number | null> {
    const def = this.definition(checkId);
    const v = await this.run(RELEASE_CHECK, this.evalKeys(evaluationId), {
      check: checkId,
      token,
      pending: JSON.stringify(pendingResult(def, ['queued again (worker shut down)'])),
      at: this.now().toISOString(),
      worker,
    });
    return Number(v) > 0 ? Number(v) : null;
  }

  /**
   * Puts one final check back to pending so it runs again on the same artifacts (the caller has
   * checked the digest and enqueues the job). `rerun` numbers the reruns of this evaluation, for
   * a fresh job id.
   */
  async rerunCheck(
    evaluationId: string,
    checkId: string,
    actor: string,
  ): Promise<{ outcome: RerunOutcome; version: number; rerun: number }> {
    const def = this.definition(checkId);
    const [outcome, version, rerun] = await this.run(
      RERUN_CHECK,
      { ...this.evalKeys(evaluationId), evals: `${this.prefix}evals`, open: this.openKey },
      {
        check: checkId,
        pending: JSON.stringify(pendingResult(def, [`queued again by ${actor}`])),
        at: this.now().toISOString(),
        actor,
      },
    );
    return { outcome: outcome as RerunOutcome, version: Number(version), rerun: Number(rerun) };
  }

  /**
   * Compare-and-set sign-off on the evaluation's (artifact digest, policy digest) pair, so every
   * evaluation of the same artifacts under the same policy shares it; every attempt is audited,
   * refused ones included.
   */
  async recordSignoff(attempt: SignoffAttempt): Promise<SignoffAttemptResult> {
    const now = this.now();
    const at = now.toISOString();
    const pair = await this.pairKeys(attempt.evaluationId);
    const record: SignoffRecord = {
      role: attempt.role,
      decision: attempt.decision,
      user: attempt.user,
      at,
      digest: attempt.digest,
      evaluation_id: attempt.evaluationId,
    };
    if (pair.policy) record.policy_digest = pair.policy.digest;
    if (attempt.reason !== undefined) record.reason = attempt.reason;
    const expiredBefore = new Date(now.getTime() - maxAgeDays(pair.policy) * 86_400_000).toISOString();
    const res = await this.run(
      RECORD_SIGNOFF,
      {
        ...this.evalKeys(attempt.evaluationId),
        signoffs: pair.roles,
        signers: pair.signers,
        waiversKey: await this.waiverKeyOf(attempt.evaluationId),
        checksKey: this.key(attempt.evaluationId, 'checks'),
      },
      {
        evaluation: attempt.evaluationId,
        role: attempt.role,
        decision: attempt.decision,
        user: attempt.user,
        reason: attempt.reason ?? '',
        digest: attempt.digest,
        authorised: attempt.authorised === true,
        allowSelf: attempt.allowSelfApproval === true,
        onePerPerson: attempt.onePerPerson !== false,
        at,
        record: JSON.stringify(record),
        expiredBefore,
        minApprovals: pair.policy ? minApprovalsFor(pair.policy.policy, attempt.role) : 1,
      },
    );
    if (res[0] !== 1) {
      const reason = String(res[1]) as SignoffRefusal;
      return { ok: false, reason };
    }
    const state = await this.getState(attempt.evaluationId);
    if (!state) throw new GateError('INTERNAL', `evaluation ${attempt.evaluationId} vanished after a sign-off`);
    // the sign-off that passes (or, with every check final, blocks) the gate takes it out of the open index
    if (isSettled(state)) await this.dropFromOpen(state);
    return { ok: true, state, record };
  }

  /** Drops a state read as terminal from the open index, unless it changed since (compare-and-set on the version). */
  private async dropFromOpen(state: EvaluationState): Promise<void> {
    await this.run(
      DROP_FROM_OPEN,
      { meta: this.key(state.evaluation.id), open: this.openKey },
      { evaluation: state.evaluation.id, version: String(state.evaluation.version) },
    );
  }

  /**
   * Withdraws the sign-off of a role (an approval, or a rejection that would otherwise block every
   * evaluation of these artifacts under this policy). Authorisation is decided by the caller;
   * every attempt is audited.
   */
  async withdrawSignoff(attempt: WithdrawAttempt): Promise<WithdrawResult> {
    const pair = await this.pairKeys(attempt.evaluationId);
    // a withdrawal from a PASSED gate re-opens it: decided on the state read here, and applied only
    // if nothing changed since (the script compares the version), else read again
    for (let tries = 0; ; tries++) {
      const before = await this.getState(attempt.evaluationId);
      const passedVersion = before && before.gate === 'passed' ? String(before.evaluation.version) : '';
      const res = await this.run(
        WITHDRAW_SIGNOFF,
        {
          ...this.evalKeys(attempt.evaluationId),
          signoffs: pair.roles,
          signers: pair.signers,
          evals: `${this.prefix}evals`,
          open: this.openKey,
        },
        {
          evaluation: attempt.evaluationId,
          role: attempt.role,
          user: attempt.user,
          digest: attempt.digest,
          authorised: attempt.authorised === true,
          at: this.now().toISOString(),
          passedVersion,
        },
      );
      if (res[0] === 2) {
        if (tries >= 20) throw new GateError('INTERNAL', `evaluation ${attempt.evaluationId} keeps changing`);
        continue;
      }
      if (res[0] !== 1) {
        const reason = String(res[1]) as SignoffRefusal;
        return { ok: false, reason };
      }
      const state = await this.getState(attempt.evaluationId);
      if (!state) throw new GateError('INTERNAL', `evaluation ${attempt.evaluationId} vanished after a withdrawal`);
      return {
        ok: true,
        state,
        record: JSON.parse(res[2] ?? '{}') as SignoffRecord,
        reopened: Number(res[3] ?? 0) === 1,
      };
    }
  }

  /**
   * Asks for a waiver of a failing check on the evaluation's (artifact digest, policy digest)
   * pair. The store refuses (audited) anyone but the evaluation's requester, a check the team
   * policy does not list or that can never be waived, a check that is not failing or failed with a
   * security finding, and a second waiver while one is pending or effective.
   */
  async requestWaiver(attempt: WaiverRequestAttempt): Promise<WaiverAttemptResult> {
    const at = this.now().toISOString();
    const evaluation = await this.getEvaluation(attempt.evaluationId);
    const roles = evaluation?.policy.policy.waivers?.[attempt.check] ?? [];
    const record: WaiverRecord = {
      id: `wv-${this.now().getTime().toString(36)}-${randomBytes(4).toString('hex')}`,
      check: attempt.check,
      status: 'requested',
      reason: attempt.reason,
      requested_by: attempt.user,
      requested_at: at,
      expires_at: attempt.expiresAt,
      digest: evaluation?.digest ?? attempt.digest,
      policy_digest: evaluation?.policy.digest ?? '',
      evaluation_id: attempt.evaluationId,
      roles,
      approvals: [],
      rejection: null,
      approved_at: null,
    };
    const res = await this.run(
      REQUEST_WAIVER,
      { ...this.evalKeys(attempt.evaluationId), waivers: await this.waiverKeyOf(attempt.evaluationId) },
      {
        evaluation: attempt.evaluationId,
        check: attempt.check,
        user: attempt.user,
        digest: attempt.digest,
        at,
        waivable: roles.length > 0 && neverWaivableReason(attempt.check) === null,
        record,
      },
    );
    if (res[0] !== 1) {
      const reason = String(res[1]) as WaiverRefusal;
      return { ok: false, reason };
    }
    const state = await this.getState(attempt.evaluationId);
    if (!state) throw new GateError('INTERNAL', `evaluation ${attempt.evaluationId} vanished after a waiver request`);
    return { ok: true, state, waiver: record };
  }

  /** Approves or rejects a requested waiver as one of its roles (authorisation decided by the caller); audited. */
  async decideWaiver(attempt: WaiverDecisionAttempt): Promise<WaiverAttemptResult> {
    const at = this.now().toISOString();
    const res = await this.run(
      DECIDE_WAIVER,
      { ...this.evalKeys(attempt.evaluationId), waivers: await this.waiverKeyOf(attempt.evaluationId) },
      {
        evaluation: attempt.evaluationId,
        check: attempt.check,
        waiver: attempt.waiverId,
        role: attempt.role,
        user: attempt.user,
        decision: attempt.decision,
        ...(attempt.reason !== undefined ? { reason: attempt.reason } : {}),
        digest: attempt.digest,
        at,
        authorised: attempt.authorised,
      },
    );
    if (res[0] !== 1) {
      const reason = String(res[1]) as WaiverRefusal;
      return { ok: false, reason };
    }
    const state = await this.getState(attempt.evaluationId);
    if (!state) throw new GateError('INTERNAL', `evaluation ${attempt.evaluationId} vanished after a waiver decision`);
    const waiver = state.waivers?.find((w) => w.id === attempt.waiverId);
    if (!waiver) throw new GateError('INTERNAL', `waiver ${attempt.waiverId} vanished after a decision`);
    return { ok: true, state, waiver };
  }

  async setMessageRef(evaluationId: string, ref: SlackMessageRef, actor = 'app'): Promise<number> {
    const v = await this.run(SET_MESSAGE_REF, this.evalKeys(evaluationId), {
      message: JSON.stringify(ref),
      at: this.now().toISOString(),
      actor,
    });
    if (Number(v) === 0) throw new GateError('NOT_FOUND', `evaluation ${evaluationId} does not exist`);
    return Number(v);
  }

  /** Idempotency for Slack retries: true the first time `key` is seen within `ttlMs`. */
  async dedupe(key: string, ttlMs: number): Promise<boolean> {
    const r = await this.redis.set(`${this.prefix}dedupe:${key}`, '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
    return r === 'OK';
  }

  /**
   * Notes approved waivers of the evaluation's pair that have expired by the store's clock (once
   * each, audited as waiver_expired) and bumps the version when one did. Returns the new version
   * or null when nothing changed.
   */
  async noteExpiredWaivers(evaluationId: string): Promise<number | null> {
    const key = await this.waiverKeyOf(evaluationId);
    if ((await this.redis.hlen(key)) === 0) return null;
    const v = await this.run(
      NOTE_WAIVER_EXPIRY,
      { meta: this.key(evaluationId), waivers: key, noted: `${key}:expired`, stream: this.auditKey },
      { at: this.now().toISOString() },
    );
    return Number(v) > 0 ? Number(v) : null;
  }

  /**
   * The evaluation's version. Expiry is noticed here: the renderer checks watched evaluations'
   * versions periodically, so a waiver that expires re-renders its gate message without a timer.
   */
  async version(evaluationId: string): Promise<number | null> {
    if (EVALUATION_ID.test(evaluationId)) await this.noteExpiredWaivers(evaluationId);
    const v = await this.redis.hget(this.key(evaluationId), 'version');
    return v === null ? null : Number(v);
  }

  /**
   * `version` of many evaluations in two pipelined round trips however many there are (the
   * renderer's poll of every watched evaluation), waiver expiry noticed the same way; null for an
   * evaluation that does not exist.
   */
  async versions(evaluationIds: readonly string[]): Promise<(number | null)[]> {
    const ids = evaluationIds.filter((id) => EVALUATION_ID.test(id));
    const metas = await pipelined(this.redis, ids, (p, id) =>
      p.hmget(this.key(id), 'version', 'digest', 'policy_digest'),
    );
    const found = new Map<string, { version: number; waivers: string }>();
    ids.forEach((id, i) => {
      const [version, digest, policyDigest] = (metas[i] ?? []) as (string | null)[];
      if (version !== null && version !== undefined)
        found.set(id, { version: Number(version), waivers: this.waiverKey(digest ?? 'none', policyDigest ?? 'none') });
    });
    const withWaivers = [...found.keys()];
    const counts = await pipelined(this.redis, withWaivers, (p, id) => p.hlen(found.get(id)?.waivers ?? ''));
    for (const [i, id] of withWaivers.entries()) {
      if (Number(counts[i]) === 0) continue;
      const noted = await this.noteExpiredWaivers(id);
      const entry = found.get(id);
      if (noted !== null && entry) entry.version = noted;
    }
    return evaluationIds.map((id) => found.get(id)?.version ?? null);
  }

  async getEvaluation(evaluationId: string): Promise<Evaluation | null> {
    if (!EVALUATION_ID.test(evaluationId)) return null;
    const h = await this.redis.hgetall(this.key(evaluationId));
    return h.id ? parseEvaluation(h) : null;
  }

  /** One consistent snapshot (MULTI) of an evaluation, its results and sign-offs; the gate recomputed. */
  async getState(evaluationId: string): Promise<EvaluationState | null> {
    if (!EVALUATION_ID.test(evaluationId)) return null;
    const pair = await this.pairKeys(evaluationId);
    const res = await this.redis
      .multi()
      .hgetall(this.key(evaluationId))
      .hgetall(this.key(evaluationId, 'checks'))
      .hgetall(pair.roles)
      .hgetall(this.key(evaluationId, 'progress'))
      .hgetall(await this.waiverKeyOf(evaluationId))
      .exec();
    if (!res) throw new GateError('INTERNAL', 'Redis transaction aborted');
    for (const [err] of res) if (err) throw err;
    const [meta, checks, signoffs, progress, waiverHash] = res.map(([, v]) => v as Record<string, string>) as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
    ];
    if (!meta.id) return null;
    const evaluation = parseEvaluation(meta);
    const order = JSON.parse(meta.check_ids ?? '[]') as string[];
    const results: CheckResult[] = [];
    for (const id of order) {
      const raw = checks[id];
      if (!raw) continue;
      const r = JSON.parse(raw) as CheckResult;
      const p = progress[id];
      results.push(p && r.status === 'running' ? withProgress(r, JSON.parse(p) as ProgressInfo) : r);
    }
    const now = this.now();
    // inherited records are re-checked against this evaluation: its requester's approvals do not count
    const signoffRecords = withoutSelfApprovals(
      withExpiry(
        Object.values(signoffs).map((s) => JSON.parse(s) as SignoffRecord),
        maxAgeDays(evaluation.policy),
        now,
      ),
      evaluation,
      evaluation.policy.policy.signoff.allow_self_approval,
    );
    const waivers = withWaiverExpiry(Object.values(waiverHash).map(parseWaiver), now);
    const report = assembleReport({
      run: evaluation.run,
      effective: evaluation.policy,
      manifest: evaluation.manifest,
      checks: results,
      signoffs: signoffRecords,
      waivers,
      now,
    });
    return { evaluation, checks: results, signoffs: signoffRecords, waivers, gate: report.gate };
  }

  /** Latest evaluation of a run (for `/readiness status <run>` and rerun). */
  async latestForRun(run: string): Promise<EvaluationState | null> {
    const id = await this.redis.get(this.runKey(run));
    return id ? this.getState(id) : null;
  }

  /** Most recent evaluations, newest first (App Home). */
  async listRecent(limit = 20): Promise<EvaluationState[]> {
    const ids = await this.redis.zrevrange(`${this.prefix}evals`, '0', String(Math.max(0, limit - 1)));
    const states = await Promise.all(ids.map((id) => this.getState(id)));
    return states.filter((s): s is EvaluationState => s !== null);
  }

  /**
   * Evaluations that can still change (for re-rendering after an app restart), oldest first.
   * Terminal ones are dropped from the open index as they are found (compare-and-set on the
   * version: a withdrawal or a rerun that re-opens one puts it back in the same transition).
   */
  async listOpen(limit = 200): Promise<EvaluationState[]> {
    return this.openStates(await this.redis.zrange(this.openKey, '0', String(Math.max(0, limit - 1))));
  }

  /** The states of these open-index entries that are still open; gone and terminal ones leave the index. */
  private async openStates(ids: readonly string[]): Promise<EvaluationState[]> {
    const out: EvaluationState[] = [];
    for (const id of ids) {
      const s = await this.getState(id);
      if (!s) {
        await this.redis.zrem(this.openKey, id);
        continue;
      }
      if (isSettled(s)) {
        await this.dropFromOpen(s);
        continue;
      }
      out.push(s);
    }
    return out;
  }

  /**
   * Open evaluations, newest first (`/readiness list`): the newest `scan` entries of the open index
   * (never a key scan), terminal ones dropped from it as they are found (compare-and-set on the
   * version); `more` when the index holds more than `scan` entries.
   */
  async listOpenNewest(scan = 200): Promise<{ states: EvaluationState[]; more: boolean }> {
    const ids = await this.redis.zrevrange(this.openKey, '0', String(Math.max(0, scan)));
    return { states: await this.openStates(ids.slice(0, scan)), more: ids.length > scan };
  }

  /** Audit entries, oldest first; optionally only those of one evaluation. */
  /**
   * Appends an entry that is not a state change (e.g. a click on a garbled or foreign button),
   * in the same shape as the transitions' entries. Returns the stream id.
   */
  async audit(
    type: string,
    evaluation: string | null,
    actor: string,
    data: Record<string, unknown> = {},
  ): Promise<string> {
    const id = await this.redis.xadd(
      this.auditKey,
      '*',
      'type',
      type,
      'evaluation',
      evaluation ?? '',
      'actor',
      actor,
      'at',
      this.now().toISOString(),
      'data',
      JSON.stringify(data),
    );
    return id ?? '';
  }

  async readAudit(opts: { evaluation?: string; from?: string; count?: number } = {}): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    let start = opts.from ?? '-';
    const limit = opts.count ?? Number.POSITIVE_INFINITY;
    for (;;) {
      const page = await this.redis.xrange(this.auditKey, start, '+', 'COUNT', '1000');
      for (const [id, flat] of page) {
        const { other: _, ...entry } = parseStreamEntry(id, flat);
        if (opts.evaluation && entry.evaluation !== opts.evaluation) continue;
        out.push(entry);
        if (out.length >= limit) return out;
      }
      if (page.length < 1000) return out;
      start = `(${page[page.length - 1]?.[0]}`;
    }
  }
}

function parseEvaluation(h: Record<string, string>): Evaluation {
  return {
    id: h.id ?? '',
    run: h.run ?? '',
    manifest: JSON.parse(h.manifest ?? '{}') as Manifest,
    digest: h.digest ?? '',
    policy: JSON.parse(h.policy ?? '{}') as EffectivePolicy,
    requester: h.requester ?? '',
    channel: h.channel || null,
    message: h.message ? (JSON.parse(h.message) as SlackMessageRef) : null,
    supersedes: h.supersedes || null,
    superseded_by: h.superseded_by || null,
    created_at: h.created_at ?? '',
    updated_at: h.updated_at ?? '',
    reopened: Number(h.reopened ?? 0),
    version: Number(h.version ?? 0),
  };
}

/** One pipeline of `add(p, item)` per item; the replies in order (a failed command throws). */
async function pipelined<T>(
  redis: Redis,
  items: readonly T[],
  add: (p: ChainableCommander, item: T) => unknown,
): Promise<unknown[]> {
  if (items.length === 0) return [];
  const p = redis.pipeline();
  for (const item of items) add(p, item);
  const res = (await p.exec()) ?? [];
  return res.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
