/**
 * What follows a gate's status, after the app has rendered it: the signed attestation of a PASSED
 * gate (stored, and attached to the PASSED notification as a file), revocation when a passed gate
 * leaves PASSED or its sign-offs are superseded by a rejection, and webhook events. Called once
 * per render with the stored state; idempotent, with its own ledger in Redis, so a repeated or
 * late call does nothing twice.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isSettled } from '../gate/terminal.js';
import { AttestationStore, passedAgain, type StoredAttestation } from '../store/attestations.js';
import { type EvaluationStore, reportFromState } from '../store/redis-store.js';
import type { EvaluationState } from '../store/types.js';
import type { WebhookDispatcher } from '../webhooks/dispatcher.js';
import type { SigningKey } from './keys.js';
import { createAttestation, envelopeText } from './sign.js';

/** Where the PASSED notification went (the attestation is attached in its thread). */
export interface NoticeRef {
  channel: string;
  ts: string;
}

/** The one Web API call used: files.getUploadURLExternal + upload + files.completeUploadExternal. */
export interface FilesClient {
  filesUploadV2(args: {
    channel_id: string;
    thread_ts: string;
    content: string;
    filename: string;
    title: string;
    initial_comment: string;
  }): Promise<unknown>;
}

export interface GateObserver {
  observe(state: EvaluationState, notice: NoticeRef | null): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface GateHookOptions {
  store: EvaluationStore;
  redis: Redis;
  prefix: string;
  log: Logger;
  /** Without a key no attestation is made (webhooks still fire, with `attestation: null`). */
  key?: SigningKey | undefined;
  files?: FilesClient | undefined;
  webhooks?: WebhookDispatcher | undefined;
  now?: () => Date;
}

/** The file name of an attestation in Slack; one issued after a re-opening carries its sequence. */
export function attestationFilename(run: string, evaluationId: string, sequence = 0): string {
  return `attestation-${run.replace(/[^A-Za-z0-9._-]+/g, '_')}-${evaluationId}${sequence > 0 ? `-${sequence}` : ''}.intoto.json`;
}

/** The attached-ledger member of an attestation (sequence 0: the evaluation id, as before sequences). */
function attachedMember(a: StoredAttestation): string {
  return a.sequence > 0 ? `${a.evaluation_id}:${a.sequence}` : a.evaluation_id;
}

export class GateHook implements GateObserver {
  readonly attestations: AttestationStore;
  private readonly seenKey: string;
  private readonly noticeKey: string;
  private readonly attachedKey: string;
  private readonly now: () => Date;

  constructor(private readonly opts: GateHookOptions) {
    this.now = opts.now ?? (() => new Date());
    this.attestations = new AttestationStore(opts.redis, { prefix: opts.prefix, now: this.now });
    this.seenKey = `${opts.prefix}:attest:seen`;
    this.noticeKey = `${opts.prefix}:attest:notice`;
    this.attachedKey = `${opts.prefix}:attest:attached`;
    this.waivedKey = `${opts.prefix}:attest:waived`;
  }

  private readonly waivedKey: string;

  async start(): Promise<void> {
    await this.opts.webhooks?.start();
  }

  async stop(): Promise<void> {
    await this.opts.webhooks?.close();
  }

  async observe(state: EvaluationState, notice: NoticeRef | null): Promise<void> {
    const ev = state.evaluation;
    const prev = await this.opts.redis.hget(this.seenKey, ev.id);
    await this.announceWaivers(state);
    if (state.gate === 'passed' && !ev.superseded_by) {
      const { attestation, issued } = await this.issue(state);
      if (notice) await this.opts.redis.hsetnx(this.noticeKey, ev.id, JSON.stringify(notice));
      // an upload Slack refuses (e.g. a missing files:write scope) must not stop the gate message
      // renderer; it is tried again on the next render of this evaluation
      if (attestation)
        await this.attach(state, attestation).catch((err: unknown) =>
          this.opts.log.warn({ err, evaluation: ev.id }, 'attaching the attestation to the PASSED notification failed'),
        );
      // also when the ledger already says passed (a stale render of an earlier PASSED state set it):
      // a new attestation is a new PASSED to announce
      if (prev !== 'passed' || issued) await this.opts.webhooks?.dispatch('passed', state, { attestation });
    }
    if (prev === 'passed' && state.gate !== 'passed') {
      await this.revoke(state, `the gate left PASSED: now ${state.gate.toUpperCase()}${describeRejections(state)}`);
    }
    if (state.gate === 'blocked' && isSettled(state) && prev !== 'blocked' && !ev.superseded_by) {
      await this.opts.webhooks?.dispatch('blocked', state);
      await this.revokeSupersededByRejection(state);
    }
    if (state.gate === 'pending' && prev === null && !ev.superseded_by)
      await this.opts.webhooks?.schedulePendingProbe(state);
    if (prev !== state.gate) await this.opts.redis.hset(this.seenKey, ev.id, state.gate);
  }

  /** The `waived` event, once per waiver, when it has become effective (approved by every named role, not expired). */
  private async announceWaivers(state: EvaluationState): Promise<void> {
    if (!this.opts.webhooks || state.evaluation.superseded_by || !state.waivers?.length) return;
    for (const w of reportFromState(state, this.now()).waivers) {
      if (w.standing !== 'effective') continue;
      // queued before it is marked sent: a crash in between queues it again under the same job id
      if ((await this.opts.redis.sismember(this.waivedKey, w.id)) === 1) continue;
      await this.opts.webhooks.dispatch('waived', state, { waiverId: w.id });
      await this.opts.redis.sadd(this.waivedKey, w.id);
    }
  }

  /**
   * The attestation of this PASSED period: signed and stored the first time the gate passes, the
   * stored one afterwards; once that one was revoked (the gate left PASSED) and the gate passes
   * again, a new one with the next sequence. `attestation` null when there is no key or no valid
   * attestation for this state (a PASSED state older than a revocation); `issued` when this call
   * stored it.
   */
  private async issue(state: EvaluationState): Promise<{ attestation: StoredAttestation | null; issued: boolean }> {
    const id = state.evaluation.id;
    const version = state.evaluation.version;
    const latest = await this.attestations.get(id);
    if (latest && !passedAgain(latest, version))
      return { attestation: latest.status === 'valid' ? latest : null, issued: false };
    if (!this.opts.key) return { attestation: null, issued: false };
    const sequence = latest ? latest.sequence + 1 : 0;
    const { statement, envelope } = createAttestation(
      reportFromState(state, this.now()),
      id,
      this.opts.key,
      this.now(),
    );
    const outcome = await this.attestations.put(statement, envelope, this.opts.key.keyid, {
      sequence,
      stateVersion: version,
    });
    if (outcome === 'stored')
      this.opts.log.info(
        { evaluation: id, sequence, keyid: this.opts.key.keyid, subjects: statement.subject.length },
        'attestation signed',
      );
    // stored by us or by another app process that saw the same PASSED state first; refused or
    // stale: whatever is newest now, if it stands
    const now = await this.attestations.get(id);
    return { attestation: now?.status === 'valid' ? now : null, issued: outcome === 'stored' };
  }

  /** Uploads the envelope into the PASSED notification's thread, once per attestation. */
  private async attach(state: EvaluationState, a: StoredAttestation): Promise<void> {
    const member = attachedMember(a);
    if (!this.opts.files || (await this.opts.redis.sismember(this.attachedKey, member)) === 1) return;
    const raw = await this.opts.redis.hget(this.noticeKey, a.evaluation_id);
    if (!raw) return;
    const notice = JSON.parse(raw) as NoticeRef;
    const again =
      a.sequence > 0
        ? ' It replaces the attestation of the earlier PASSED result (revoked when the gate was re-opened).'
        : '';
    await this.opts.files.filesUploadV2({
      channel_id: notice.channel,
      thread_ts: notice.ts,
      content: envelopeText(a.envelope),
      filename: attestationFilename(state.evaluation.run, a.evaluation_id, a.sequence),
      title: `Signed attestation: ${state.evaluation.run}`,
      initial_comment: `Signed attestation of this PASSED gate (in-toto Statement in a DSSE envelope, key \`${a.keyid.slice(0, 16)}…\`).${again} Deploy pipelines check it with \`readiness verify <run-dir> --attestation <file> --public-key <team key>\`.`,
    });
    await this.opts.redis.sadd(this.attachedKey, member);
  }

  private async revoke(state: EvaluationState, reason: string): Promise<void> {
    const outcome = await this.attestations.revokeAttestation(state.evaluation.id, reason, {
      stateVersion: state.evaluation.version,
    });
    if (outcome !== 'revoked') return;
    this.opts.log.warn({ evaluation: state.evaluation.id, reason }, 'attestation revoked');
    await this.opts.webhooks?.dispatch('revoked', state, {
      attestation: await this.attestations.get(state.evaluation.id),
    });
  }

  /** A rejection of the same artifacts under the same policy revokes what an earlier evaluation of them attested. */
  private async revokeSupersededByRejection(state: EvaluationState): Promise<void> {
    const rejections = describeRejections(state);
    if (!rejections) return;
    const ev = state.evaluation;
    for (const other of await this.attestations.withDigests(ev.digest, ev.policy.digest)) {
      if (other === ev.id) continue;
      const otherState = await this.opts.store.getState(other);
      if (otherState) await this.revoke(otherState, `superseded by a rejection in evaluation ${ev.id}${rejections}`);
    }
  }
}

function describeRejections(state: EvaluationState): string {
  const r = state.signoffs.filter((s) => s.digest === state.evaluation.digest && s.decision === 'rejected');
  return r.length === 0
    ? ''
    : `; rejected: ${r.map((s) => `${s.role} by ${s.user}${s.reason ? ` (${s.reason})` : ''}`).join(', ')}`;
}
