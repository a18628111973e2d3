/**
 * Signed attestations of PASSED evaluations, kept beside the evaluations in Redis, and their
 * revocation. Every change is one Lua script that also appends to the audit stream.
 *
 * One attestation per PASSED period of an evaluation: the first time its gate passes it gets
 * sequence 0; when the gate left PASSED (a withdrawal re-opened it, approvals expired) the
 * attestation is revoked, and passing again issues sequence 1, and so on. Only the newest can be
 * valid: a new one is stored only once the one before it is revoked. Revoked ones stay readable.
 *
 * Key layout (P = store prefix):
 *   P:attest:<evaluation>                 hash   sequence 0: envelope, keyid, run, digests, times, status, revocation
 *                                                (the only layout before sequences; read as sequence 0)
 *   P:attest:<evaluation>:<n>             hash   sequence n ≥ 1, the same fields
 *   P:attest:latest:<evaluation>          string newest sequence (absent: 0)
 *   P:attest:run:<run>                    string latest attested evaluation of a run
 *   P:attest:pair:<artifact>:<policy>     set    attested evaluations of one (artifact digest, policy digest)
 */
import type { Redis } from 'ioredis';
import { checkRelativePath } from '../artifacts/run.js';
import type { DsseEnvelope } from '../attestation/dsse.js';
import type { Statement } from '../attestation/statement.js';
import { luaScript, runScript } from './lua.js';
import { AUDIT } from './scripts.js';

export type AttestationStatus = 'valid' | 'revoked';

export interface StoredAttestation {
  evaluation_id: string;
  /** 0 for the first PASSED of the evaluation, n after its n-th revocation and a new PASSED. */
  sequence: number;
  run: string;
  envelope: DsseEnvelope;
  keyid: string;
  artifact_digest: string;
  policy_digest: string;
  passed_at: string;
  issued_at: string;
  /** The evaluation's state version the PASSED gate had when this was signed (null: stored before versions were kept). */
  state_version: number | null;
  status: AttestationStatus;
  revoked_at: string | null;
  revoked_reason: string | null;
  /** The state version that was no longer PASSED when it was revoked (null: not revoked, or not known). */
  revoked_version: number | null;
}

/**
 * → 1 stored | 0 this sequence is already stored | 2 refused: the previous one still stands, or
 * was revoked at this state version or a later one (a stale PASSED state) | 3 the newest sequence
 * moved on since the caller read it
 */
const PUT_ATTESTATION = luaScript<
  {
    evaluation: string;
    sequence: number;
    version: number;
    fields: string;
    at: string;
    actor: string;
    keyid: string;
  },
  number
>()({
  name: 'rgPutAttestation',
  keys: ['meta', 'previous', 'latestKey', 'runKey', 'pairKey', 'stream'],
  helpers: [AUDIT],
  body: `
if redis.call('EXISTS', meta) == 1 then return 0 end
local latest = tonumber(redis.call('GET', latestKey) or '0')
if args.sequence > 0 then
  if latest ~= args.sequence - 1 then return 3 end
  if redis.call('HGET', previous, 'status') ~= 'revoked' then return 2 end
  local rv = tonumber(redis.call('HGET', previous, 'revoked_version') or '-1')
  if args.version <= rv then return 2 end
elseif latest ~= 0 then
  return 3
end
local fields = cjson.decode(args.fields)
for k, v in pairs(fields) do redis.call('HSET', meta, k, v) end
redis.call('HSET', meta, 'status', 'valid', 'sequence', args.sequence, 'state_version', args.version)
if args.sequence > 0 then redis.call('SET', latestKey, args.sequence) end
redis.call('SET', runKey, args.evaluation)
redis.call('SADD', pairKey, args.evaluation)
audit(stream, 'attestation_issued', args.evaluation, args.actor, args.at, {keyid = args.keyid, sequence = args.sequence})
return 1
`,
});

/**
 * → 1 revoked | 2 already revoked | 0 no attestation | 3 the newest sequence moved on since the
 * caller read it | 4 the state is older than the attestation (it was signed after that state)
 */
const REVOKE_ATTESTATION = luaScript<
  { evaluation: string; sequence: number; version?: number; reason: string; at: string; actor: string },
  number
>()({
  name: 'rgRevokeAttestation',
  keys: ['meta', 'latestKey', 'stream'],
  helpers: [AUDIT],
  body: `
if tonumber(redis.call('GET', latestKey) or '0') ~= args.sequence then return 3 end
if redis.call('EXISTS', meta) == 0 then return 0 end
if redis.call('HGET', meta, 'status') == 'revoked' then return 2 end
if args.version ~= nil and args.version < tonumber(redis.call('HGET', meta, 'state_version') or '-1') then return 4 end
redis.call('HSET', meta, 'status', 'revoked', 'revoked_at', args.at, 'revoked_reason', args.reason)
if args.version ~= nil then redis.call('HSET', meta, 'revoked_version', args.version) end
audit(stream, 'attestation_revoked', args.evaluation, args.actor, args.at, {reason = args.reason, sequence = args.sequence})
return 1
`,
});

export type PutOutcome = 'stored' | 'exists' | 'refused' | 'stale';
export type RevokeOutcome = 'revoked' | 'already_revoked' | 'none' | 'stale';

/**
 * Whether a PASSED state (at `stateVersion`) of an evaluation whose newest attestation is `latest`
 * is a new PASSED period that gets a new attestation: the newest was revoked, and by a state older
 * than this one (a render of the PASSED state from before the revocation is not a new period).
 */
export function passedAgain(latest: StoredAttestation, stateVersion: number): boolean {
  return latest.status === 'revoked' && stateVersion > (latest.revoked_version ?? -1);
}

/** Attempts of a script that answered "the newest sequence moved on" before giving up. */
const ATTEMPTS = 5;

export class AttestationStore {
  private readonly prefix: string;
  private readonly now: () => Date;

  constructor(
    readonly redis: Redis,
    opts: { prefix?: string; now?: () => Date } = {},
  ) {
    this.prefix = `${opts.prefix ?? 'readiness'}:`;
    this.now = opts.now ?? (() => new Date());
  }

  private key(evaluationId: string, sequence: number): string {
    return sequence === 0 ? `${this.prefix}attest:${evaluationId}` : `${this.prefix}attest:${evaluationId}:${sequence}`;
  }

  private latestKey(evaluationId: string): string {
    return `${this.prefix}attest:latest:${evaluationId}`;
  }

  private runKey(run: string): string {
    return `${this.prefix}attest:run:${checkRelativePath(run, 'run name')}`;
  }

  private pairKey(artifactDigest: string, policyDigest: string): string {
    return `${this.prefix}attest:pair:${artifactDigest}:${policyDigest}`;
  }

  /** The newest sequence of an evaluation's attestations (0 also when it has none). */
  async latestSequence(evaluationId: string): Promise<number> {
    return Number((await this.redis.get(this.latestKey(evaluationId))) ?? 0);
  }

  /**
   * Stores one attestation of an evaluation under `sequence` (0: its first; n: after the n-th was
   * revoked), signed from the PASSED state at `stateVersion`. A sequence is stored once; a second
   * call keeps the first ('exists').
   */
  async put(
    statement: Statement,
    envelope: DsseEnvelope,
    keyid: string,
    opts: { sequence?: number; stateVersion?: number; actor?: string } = {},
  ): Promise<PutOutcome> {
    const p = statement.predicate;
    const sequence = opts.sequence ?? 0;
    const fields = {
      evaluation_id: p.evaluation_id,
      run: p.run,
      envelope: JSON.stringify(envelope),
      keyid,
      artifact_digest: p.artifact_digest,
      policy_digest: p.policy.digest,
      passed_at: p.passed_at,
      issued_at: p.issued_at,
    };
    const r = Number(
      await runScript(
        this.redis,
        PUT_ATTESTATION,
        {
          meta: this.key(p.evaluation_id, sequence),
          previous: this.key(p.evaluation_id, Math.max(0, sequence - 1)),
          latestKey: this.latestKey(p.evaluation_id),
          runKey: this.runKey(p.run),
          pairKey: this.pairKey(p.artifact_digest, p.policy.digest),
          stream: `${this.prefix}audit`,
        },
        {
          evaluation: p.evaluation_id,
          sequence,
          version: opts.stateVersion ?? 0,
          fields: JSON.stringify(fields),
          at: this.now().toISOString(),
          actor: opts.actor ?? 'app',
          keyid,
        },
      ),
    );
    return r === 1 ? 'stored' : r === 0 ? 'exists' : r === 2 ? 'refused' : 'stale';
  }

  /** An evaluation's newest attestation, or the one of `sequence`. */
  async get(evaluationId: string, sequence?: number): Promise<StoredAttestation | null> {
    const n = sequence ?? (await this.latestSequence(evaluationId));
    const h = await this.redis.hgetall(this.key(evaluationId, n));
    if (!h.evaluation_id) return null;
    const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
    return {
      evaluation_id: h.evaluation_id,
      sequence: num(h.sequence) ?? n,
      run: h.run ?? '',
      envelope: JSON.parse(h.envelope ?? '{}') as DsseEnvelope,
      keyid: h.keyid ?? '',
      artifact_digest: h.artifact_digest ?? '',
      policy_digest: h.policy_digest ?? '',
      passed_at: h.passed_at ?? '',
      issued_at: h.issued_at ?? '',
      state_version: num(h.state_version),
      status: h.status === 'revoked' ? 'revoked' : 'valid',
      revoked_at: h.revoked_at ?? null,
      revoked_reason: h.revoked_reason ?? null,
      revoked_version: num(h.revoked_version),
    };
  }

  /** Every attestation of an evaluation, oldest first (all but the newest are revoked). */
  async history(evaluationId: string): Promise<StoredAttestation[]> {
    const latest = await this.latestSequence(evaluationId);
    const all = await Promise.all(Array.from({ length: latest + 1 }, (_, n) => this.get(evaluationId, n)));
    return all.filter((a): a is StoredAttestation => a !== null);
  }

  /** The newest attestation of a run's latest PASSED evaluation. */
  async latestForRun(run: string): Promise<StoredAttestation | null> {
    const id = await this.redis.get(this.runKey(run));
    return id ? this.get(id) : null;
  }

  /** Attested evaluations of the same artifacts under the same policy. */
  async withDigests(artifactDigest: string, policyDigest: string): Promise<string[]> {
    return (await this.redis.smembers(this.pairKey(artifactDigest, policyDigest))).sort();
  }

  /**
   * Marks an evaluation's newest attestation revoked (once; audited). With `stateVersion` (the
   * version of the state that is no longer PASSED), an attestation signed from a later state is
   * left alone ('stale'), and the version is kept so only a later PASSED state issues the next one.
   */
  async revokeAttestation(
    evaluationId: string,
    reason: string,
    opts: { actor?: string; stateVersion?: number } = {},
  ): Promise<RevokeOutcome> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const sequence = await this.latestSequence(evaluationId);
      const r = Number(
        await runScript(
          this.redis,
          REVOKE_ATTESTATION,
          {
            meta: this.key(evaluationId, sequence),
            latestKey: this.latestKey(evaluationId),
            stream: `${this.prefix}audit`,
          },
          {
            evaluation: evaluationId,
            sequence,
            ...(opts.stateVersion !== undefined ? { version: opts.stateVersion } : {}),
            reason,
            at: this.now().toISOString(),
            actor: opts.actor ?? 'app',
          },
        ),
      );
      if (r !== 3) return r === 1 ? 'revoked' : r === 2 ? 'already_revoked' : r === 4 ? 'stale' : 'none';
    }
    return 'stale';
  }
}

/** Module-level form for callers that hold only a Redis connection and prefix. */
export function revokeAttestation(
  redis: Redis,
  prefix: string,
  evaluationId: string,
  reason: string,
  actor = 'app',
): Promise<RevokeOutcome> {
  return new AttestationStore(redis, { prefix }).revokeAttestation(evaluationId, reason, { actor });
}
