/**
 * Signed attestations of PASSED evaluations, kept beside the evaluations in Redis, and their
 * revocation. Every change is one Lua script that also appends to the audit stream.
 *
 * Key layout (P = store prefix):
 *   P:attest:<evaluation>                 hash   envelope, keyid, run, digests, times, status, revocation
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
  run: string;
  envelope: DsseEnvelope;
  keyid: string;
  artifact_digest: string;
  policy_digest: string;
  passed_at: string;
  issued_at: string;
  status: AttestationStatus;
  revoked_at: string | null;
  revoked_reason: string | null;
}

/** → 1 stored | 0 already there */
const PUT_ATTESTATION = luaScript<
  { evaluation: string; fields: string; at: string; actor: string; keyid: string },
  number
>()({
  name: 'rgPutAttestation',
  keys: ['meta', 'runKey', 'pairKey', 'stream'],
  helpers: [AUDIT],
  body: `
if redis.call('EXISTS', meta) == 1 then return 0 end
local fields = cjson.decode(args.fields)
for k, v in pairs(fields) do redis.call('HSET', meta, k, v) end
redis.call('HSET', meta, 'status', 'valid')
redis.call('SET', runKey, args.evaluation)
redis.call('SADD', pairKey, args.evaluation)
audit(stream, 'attestation_issued', args.evaluation, args.actor, args.at, {keyid = args.keyid})
return 1
`,
});

/** → 1 revoked | 2 already revoked | 0 no attestation */
const REVOKE_ATTESTATION = luaScript<{ evaluation: string; reason: string; at: string; actor: string }, number>()({
  name: 'rgRevokeAttestation',
  keys: ['meta', 'stream'],
  helpers: [AUDIT],
  body: `
if redis.call('EXISTS', meta) == 0 then return 0 end
if redis.call('HGET', meta, 'status') == 'revoked' then return 2 end
redis.call('HSET', meta, 'status', 'revoked', 'revoked_at', args.at, 'revoked_reason', args.reason)
audit(stream, 'attestation_revoked', args.evaluation, args.actor, args.at, {reason = args.reason})
return 1
`,
});

export type RevokeOutcome = 'revoked' | 'already_revoked' | 'none';

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

  private key(evaluationId: string): string {
    return `${this.prefix}attest:${evaluationId}`;
  }

  private runKey(run: string): string {
    return `${this.prefix}attest:run:${checkRelativePath(run, 'run name')}`;
  }

  private pairKey(artifactDigest: string, policyDigest: string): string {
    return `${this.prefix}attest:pair:${artifactDigest}:${policyDigest}`;
  }

  /** Stores the attestation of an evaluation once; a second call keeps the first (returns false). */
  async put(statement: Statement, envelope: DsseEnvelope, keyid: string, actor = 'app'): Promise<boolean> {
    const p = statement.predicate;
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
    const r = await runScript(
      this.redis,
      PUT_ATTESTATION,
      {
        meta: this.key(p.evaluation_id),
        runKey: this.runKey(p.run),
        pairKey: this.pairKey(p.artifact_digest, p.policy.digest),
        stream: `${this.prefix}audit`,
      },
      { evaluation: p.evaluation_id, fields: JSON.stringify(fields), at: this.now().toISOString(), actor, keyid },
    );
    return Number(r) === 1;
  }

  async get(evaluationId: string): Promise<StoredAttestation | null> {
    const h = await this.redis.hgetall(this.key(evaluationId));
    if (!h.evaluation_id) return null;
    return {
      evaluation_id: h.evaluation_id,
      run: h.run ?? '',
      envelope: JSON.parse(h.envelope ?? '{}') as DsseEnvelope,
      keyid: h.keyid ?? '',
      artifact_digest: h.artifact_digest ?? '',
      policy_digest: h.policy_digest ?? '',
      passed_at: h.passed_at ?? '',
      issued_at: h.issued_at ?? '',
      status: h.status === 'revoked' ? 'revoked' : 'valid',
      revoked_at: h.revoked_at ?? null,
      revoked_reason: h.revoked_reason ?? null,
    };
  }

  /** The attestation of a run's latest PASSED evaluation. */
  async latestForRun(run: string): Promise<StoredAttestation | null> {
    const id = await this.redis.get(this.runKey(run));
    return id ? this.get(id) : null;
  }

  /** Attested evaluations of the same artifacts under the same policy. */
  async withDigests(artifactDigest: string, policyDigest: string): Promise<string[]> {
    return (await this.redis.smembers(this.pairKey(artifactDigest, policyDigest))).sort();
  }

  /** Marks an evaluation's attestation revoked (once; audited). */
  async revokeAttestation(evaluationId: string, reason: string, actor = 'app'): Promise<RevokeOutcome> {
    const r = Number(
      await runScript(
        this.redis,
        REVOKE_ATTESTATION,
        { meta: this.key(evaluationId), stream: `${this.prefix}audit` },
        { evaluation: evaluationId, reason, at: this.now().toISOString(), actor },
      ),
    );
    return r === 1 ? 'revoked' : r === 2 ? 'already_revoked' : 'none';
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
  return new AttestationStore(redis, { prefix }).revokeAttestation(evaluationId, reason, actor);
}
