/**
 * Lua scripts for every state change of an evaluation. Each runs atomically in Redis, bumps the
 * evaluation's version and appends to the audit stream in the same step, so a transition and its
 * audit entry can never be separated, lost or applied twice.
 *
 * Key layout (P = store prefix):
 *   P:eval:<id>            hash  meta (run, manifest, digest, policy, requester, channel, message, version, …)
 *   P:eval:<id>:checks     hash  check id → result JSON
 *   P:eval:<id>:status     hash  check id → status (kept apart so Lua never re-encodes result JSON)
 *   P:eval:<id>:tokens     hash  check id → token of the attempt allowed to write the result
 *   P:eval:<id>:progress   hash  check id → progress JSON of a running check
 *   P:signoff:<digest>:<policy digest>:roles    hash  "<role>|<user>" → sign-off record JSON (one per person;
 *                          records stored before N-of-M are keyed by the role alone)
 *   P:signoff:<digest>:<policy digest>:signers  hash  user → role
 *                          sign-offs belong to the pair (artifact digest, policy digest), not to an
 *                          evaluation: every evaluation of identical artifacts under an identical
 *                          policy reads (inherits) the same approvals and rejections
 *   P:waiver:<digest>:<policy digest>           hash  check id → waiver record JSON (see REQUEST_WAIVER)
 *   P:run:<run>            string latest evaluation id of a run
 *   P:evals / P:open       zsets  every / not yet terminal evaluation, scored by creation time; open is
 *                          added to by the transitions that create or re-open an evaluation and
 *                          pruned by compare-and-set on the version (DROP_FROM_OPEN) once a read
 *                          finds it terminal
 *   P:audit                stream append-only audit log (never trimmed)
 *
 * createEvaluation touches the previous evaluation of the run through a key computed in the
 * script: fine on a single Redis (what BullMQ needs too), not on Redis Cluster.
 */

import type { WaiverRecord } from '../waivers/waivers.js';
import { luaScript } from './lua.js';

/** audit(): one audit stream entry; bump(): the evaluation's next version. */
export const AUDIT = `
local function audit(stream, typ, evaluation, actor, at, data)
  return redis.call('XADD', stream, '*', 'type', typ, 'evaluation', evaluation, 'actor', actor, 'at', at, 'data', cjson.encode(data))
end
local function bump(meta, at)
  redis.call('HSET', meta, 'updated_at', at)
  return redis.call('HINCRBY', meta, 'version', 1)
end
`;

/**
 * Why a sign-off, a withdrawal or a waiver step cannot touch this evaluation, or nil: it does not
 * exist, was superseded, the user may not act in the role, or the artifacts changed since the
 * message was posted.
 */
const EVALUATION_GUARD = `
local function evaluation_refusal(meta, authorised, digest)
  if redis.call('EXISTS', meta) == 0 then return 'unknown_evaluation' end
  if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then return 'superseded' end
  if not authorised then return 'not_authorised' end
  if redis.call('HGET', meta, 'digest') ~= digest then return 'digest_changed' end
  return nil
end
`;

export type CreateEvaluationArgs = {
  id: string;
  prefix: string;
  at: string;
  atMs: number;
  /** Mark the run's previous evaluation superseded. */
  supersede: boolean;
  requester: string;
  run: string;
  /** JSON: meta fields to store. */
  fields: string;
  /** JSON: check id → pending result JSON. */
  pending: string;
  /** JSON: check ids in order (stored as is). */
  checkIds: string;
};

/** → {1, supersededId, supersededVersion} | {0} */
export const CREATE_EVALUATION = luaScript<CreateEvaluationArgs, [number, string?, number?]>()({
  name: 'rgCreateEvaluation',
  keys: ['meta', 'checks', 'status', 'runKey', 'evals', 'open', 'stream', 'pair'],
  helpers: [AUDIT],
  body: `
local id, prefix, at, requester = args.id, args.prefix, args.at, args.requester
if redis.call('EXISTS', meta) == 1 then return {0} end
local fields = cjson.decode(args.fields)
local pending = cjson.decode(args.pending)
local checkIds = cjson.decode(args.checkIds)
local supersededId, supersededVersion = '', 0
local prev = redis.call('GET', runKey)
if prev and args.supersede then
  local pk = prefix .. 'eval:' .. prev
  if redis.call('EXISTS', pk) == 1 and (redis.call('HGET', pk, 'superseded_by') or '') == '' then
    redis.call('HSET', pk, 'superseded_by', id)
    supersededVersion = bump(pk, at)
    redis.call('ZREM', open, prev)
    supersededId = prev
    audit(stream, 'evaluation_superseded', prev, requester, at, {superseded_by = id, version = supersededVersion})
  end
end
for k, v in pairs(fields) do redis.call('HSET', meta, k, v) end
redis.call('HSET', meta, 'id', id, 'supersedes', supersededId, 'superseded_by', '', 'created_at', at, 'updated_at', at, 'version', 1, 'check_ids', args.checkIds)
for _, cid in ipairs(checkIds) do
  redis.call('HSET', checks, cid, pending[cid])
  redis.call('HSET', status, cid, 'pending')
end
redis.call('SET', runKey, id)
redis.call('ZADD', evals, args.atMs, id)
redis.call('ZADD', open, args.atMs, id)
-- inherited sign-offs: the roles, and who signed them (a role may hold several approvals)
local roles, seenRole, signedBy = {}, {}, {}
for _, raw in ipairs(redis.call('HVALS', pair)) do
  local rec = cjson.decode(raw)
  if not seenRole[rec.role] then seenRole[rec.role] = true; table.insert(roles, rec.role) end
  table.insert(signedBy, rec.role .. ':' .. rec.decision .. ':' .. rec.user)
end
table.sort(roles)
table.sort(signedBy)
audit(stream, 'evaluation_created', id, requester, at, {run = args.run, digest = fields['digest'], policy_digest = fields['policy_digest'], policy_overrides = fields['policy_overrides'], inherited_signoffs = table.concat(roles, ','), inherited_signers = table.concat(signedBy, ','), checks = #checkIds, supersedes = supersededId, version = 1})
return {1, supersededId, supersededVersion}
`,
});

export type SetCheckRunningArgs = {
  check: string;
  token: string;
  at: string;
  worker: string;
  /** JSON: the running result. */
  running: string;
  /** JSON: the result stored when the evaluation was superseded. */
  skipped: string;
};

/** → {outcome, version}: started | final | superseded | unknown | unknown_check */
export const SET_CHECK_RUNNING = luaScript<SetCheckRunningArgs, [string, number]>()({
  name: 'rgSetCheckRunning',
  keys: ['meta', 'checks', 'status', 'tokens', 'stream'],
  helpers: [AUDIT],
  body: `
local cid, token, at, worker = args.check, args.token, args.at, args.worker
if redis.call('EXISTS', meta) == 0 then return {'unknown', 0} end
local st = redis.call('HGET', status, cid)
local version = tonumber(redis.call('HGET', meta, 'version'))
if not st then return {'unknown_check', version} end
if st ~= 'pending' and st ~= 'running' then return {'final', version} end
local id = redis.call('HGET', meta, 'id')
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then
  redis.call('HSET', checks, cid, args.skipped)
  redis.call('HSET', status, cid, 'skipped')
  redis.call('HDEL', tokens, cid)
  version = bump(meta, at)
  audit(stream, 'check_skipped', id, worker, at, {check = cid, reason = 'evaluation superseded', version = version})
  return {'superseded', version}
end
local previous = redis.call('HGET', tokens, cid) or ''
redis.call('HSET', tokens, cid, token)
redis.call('HSET', status, cid, 'running')
redis.call('HSET', checks, cid, args.running)
version = bump(meta, at)
audit(stream, 'check_running', id, worker, at, {check = cid, token = token, previous_token = previous, version = version})
return {'started', version}
`,
});

export type SetCheckProgressArgs = {
  check: string;
  token: string;
  /** JSON: the progress record. */
  progress: string;
  at: string;
};

/** → version, or 0 when the attempt is no longer the current one */
export const SET_CHECK_PROGRESS = luaScript<SetCheckProgressArgs, number>()({
  name: 'rgSetCheckProgress',
  keys: ['meta', 'status', 'tokens', 'progress'],
  helpers: [AUDIT],
  body: `
if redis.call('HGET', status, args.check) ~= 'running' then return 0 end
if redis.call('HGET', tokens, args.check) ~= args.token then return 0 end
redis.call('HSET', progress, args.check, args.progress)
return bump(meta, args.at)
`,
});

export type ApplyCheckResultArgs = {
  check: string;
  token: string;
  /** JSON: the final result. */
  result: string;
  resultStatus: string;
  at: string;
  worker: string;
  security: boolean;
  /** The job gave up for good (e.g. stalled too often), so whichever attempt owns the check, it ends. */
  force: boolean;
};

/** → {outcome, version}: applied | duplicate (already final) | stale (another attempt owns it) | unknown */
export const APPLY_CHECK_RESULT = luaScript<ApplyCheckResultArgs, [string, number]>()({
  name: 'rgApplyCheckResult',
  keys: ['meta', 'checks', 'status', 'tokens', 'progress', 'stream'],
  helpers: [AUDIT],
  body: `
local cid, token, at, worker = args.check, args.token, args.at, args.worker
if redis.call('EXISTS', meta) == 0 then return {'unknown', 0} end
local id = redis.call('HGET', meta, 'id')
local version = tonumber(redis.call('HGET', meta, 'version'))
local st = redis.call('HGET', status, cid)
if not st then return {'unknown', version} end
if st ~= 'pending' and st ~= 'running' then
  audit(stream, 'check_result_ignored', id, worker, at, {check = cid, token = token, reason = 'already final', current = st})
  return {'duplicate', version}
end
if not args.force and (st ~= 'running' or redis.call('HGET', tokens, cid) ~= token) then
  audit(stream, 'check_result_ignored', id, worker, at, {check = cid, token = token, reason = 'superseded attempt', current = st})
  return {'stale', version}
end
redis.call('HSET', checks, cid, args.result)
redis.call('HSET', status, cid, args.resultStatus)
redis.call('HDEL', progress, cid)
version = bump(meta, at)
audit(stream, 'check_result', id, worker, at, {check = cid, status = args.resultStatus, token = token, security = args.security, version = version})
return {'applied', version}
`,
});

export type ReleaseCheckArgs = {
  check: string;
  token: string;
  /** JSON: the pending result stored again. */
  pending: string;
  at: string;
  worker: string;
};

/**
 * A running attempt hands its check back to the queue (graceful shutdown).
 * → version, or 0 when the attempt is not the current one
 */
export const RELEASE_CHECK = luaScript<ReleaseCheckArgs, number>()({
  name: 'rgReleaseCheck',
  keys: ['meta', 'checks', 'status', 'tokens', 'progress', 'stream'],
  helpers: [AUDIT],
  body: `
local cid, token, at = args.check, args.token, args.at
if redis.call('HGET', status, cid) ~= 'running' then return 0 end
if redis.call('HGET', tokens, cid) ~= token then return 0 end
redis.call('HSET', checks, cid, args.pending)
redis.call('HSET', status, cid, 'pending')
redis.call('HDEL', tokens, cid)
redis.call('HDEL', progress, cid)
local version = bump(meta, at)
audit(stream, 'check_released', redis.call('HGET', meta, 'id'), args.worker, at, {check = cid, token = token, version = version})
return version
`,
});

export type RerunCheckArgs = {
  check: string;
  /** JSON: the pending result. */
  pending: string;
  at: string;
  actor: string;
};

/**
 * Runs one final check of an evaluation again on the same artifacts (e.g. a latency test on a
 * machine that was busy): back to pending, its attempt token and progress dropped. Sign-offs stay
 * bound to the digest; the gate is pending until the new result lands.
 * The evaluation goes back into the open index (a rerun on a PASSED or BLOCKED gate re-opens it).
 * → {outcome, version, rerun}: reset | busy (pending or running) | superseded | unknown | unknown_check
 */
export const RERUN_CHECK = luaScript<RerunCheckArgs, [string, number, number]>()({
  name: 'rgRerunCheck',
  keys: ['meta', 'checks', 'status', 'tokens', 'progress', 'stream', 'evals', 'open'],
  helpers: [AUDIT],
  body: `
local cid, at, actor = args.check, args.at, args.actor
if redis.call('EXISTS', meta) == 0 then return {'unknown', 0, 0} end
local version = tonumber(redis.call('HGET', meta, 'version'))
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then return {'superseded', version, 0} end
local st = redis.call('HGET', status, cid)
if not st then return {'unknown_check', version, 0} end
if st == 'pending' or st == 'running' then return {'busy', version, 0} end
redis.call('HSET', checks, cid, args.pending)
redis.call('HSET', status, cid, 'pending')
redis.call('HDEL', tokens, cid)
redis.call('HDEL', progress, cid)
local n = redis.call('HINCRBY', meta, 'reruns', 1)
local eid = redis.call('HGET', meta, 'id')
redis.call('ZADD', open, redis.call('ZSCORE', evals, eid) or 0, eid)
version = bump(meta, at)
audit(stream, 'check_rerun', redis.call('HGET', meta, 'id'), actor, at, {check = cid, previous = st, rerun = n, version = version})
return {'reset', version, n}
`,
});

export type RecordSignoffArgs = {
  evaluation: string;
  role: string;
  decision: string;
  user: string;
  /** The signer's comment ('' for none). */
  reason: string;
  digest: string;
  authorised: boolean;
  allowSelf: boolean;
  onePerPerson: boolean;
  at: string;
  /** JSON: the sign-off record to store. */
  record: string;
  /** Approvals recorded before this time have expired (signoff.max_age_days). */
  expiredBefore: string;
  /** Current approvals that complete the role (roles.<role>.min_approvals). */
  minApprovals: number;
};

/**
 * Compare-and-set sign-off on the evaluation's (artifact digest, policy digest) pair. A role holds
 * one record per person (field "<role>|<user>"; records stored before N-of-M sit under "<role>"):
 * it is complete with `minApprovals` current approvals, and closed by any rejection. Each person
 * counts once. Every attempt, refused ones included, is audited. An approval older than the
 * policy's signoff.max_age_days (recorded before `expiredBefore`) no longer counts and is dropped
 * when the role is signed again. An approval the evaluation's requester gave (inherited from an
 * evaluation someone else requested) does not count here unless self-approval is allowed.
 * → {1, version, approvals} | {0, refusal}
 */
export const RECORD_SIGNOFF = luaScript<RecordSignoffArgs, [number, string | number, number?]>()({
  name: 'rgRecordSignoff',
  keys: ['meta', 'status', 'signoffs', 'signers', 'stream', 'waiversKey', 'checksKey'],
  helpers: [AUDIT, EVALUATION_GUARD],
  body: `
local id, role, decision, user, reason, digest, at = args.evaluation, args.role, args.decision, args.user, args.reason, args.digest, args.at
local expiredBefore = args.expiredBefore
local minApprovals = tonumber(args.minApprovals) or 1
local function refuse(why)
  audit(stream, 'signoff_refused', id, user, at, {role = role, decision = decision, reason = why, digest = digest, comment = reason})
  return {0, why}
end
local refusal = evaluation_refusal(meta, args.authorised, digest)
if refusal then return refuse(refusal) end
if user == redis.call('HGET', meta, 'requester') and not args.allowSelf and redis.call('HGET', meta, 'allow_self_approval') ~= '1' then
  return refuse('self_approval')
end
local approvals, expired, own = 0, {}, false
-- an approval this evaluation's requester gave on another evaluation of the pair does not count here (unless self-approval is allowed)
local requester = redis.call('HGET', meta, 'requester')
local selfAllowed = args.allowSelf or redis.call('HGET', meta, 'allow_self_approval') == '1'
local all = redis.call('HGETALL', signoffs)
for i = 1, #all, 2 do
  local rec = cjson.decode(all[i + 1])
  if rec.role == role then
    if rec.decision ~= 'approved' then return refuse('role_already_signed') end
    if rec.user == requester and not selfAllowed and rec.evaluation_id ~= id then
      -- held by the pair for other evaluations, not counted here
    elseif rec.at <= expiredBefore then
      table.insert(expired, {field = all[i], user = rec.user})
    else
      approvals = approvals + 1
      if rec.user == user then own = true end
    end
  end
end
if approvals >= minApprovals then return refuse('role_already_signed') end
if own then return refuse('already_signed_this_role') end
local other = redis.call('HGET', signers, user)
if args.onePerPerson and other and other ~= role then return refuse('already_signed_other_role') end
-- a failing check counts as passing while an approved, unexpired waiver of this pair accepts it
local function waived(cid, s)
  if s ~= 'fail' or not waiversKey then return false end
  local raw = redis.call('HGET', waiversKey, cid)
  if not raw then return false end
  local w = cjson.decode(raw)
  if w.status ~= 'approved' or w.expires_at <= at or w.digest ~= digest then return false end
  local result = cjson.decode(redis.call('HGET', checksKey, cid) or '{}')
  return not result.security
end
local statuses = redis.call('HGETALL', status)
for i = 1, #statuses, 2 do
  local s = statuses[i + 1]
  if s ~= 'pass' and s ~= 'warn' and not waived(statuses[i], s) then return refuse('checks_not_passing') end
end
-- expired approvals of the role stop holding it (and their signers) once it is signed again
local replaced = {}
for _, e in ipairs(expired) do
  redis.call('HDEL', signoffs, e.field)
  if redis.call('HGET', signers, e.user) == role then redis.call('HDEL', signers, e.user) end
  table.insert(replaced, e.user)
end
redis.call('HSET', signoffs, role .. '|' .. user, args.record)
redis.call('HSET', signers, user, role)
if decision == 'approved' then approvals = approvals + 1 end
local version = bump(meta, at)
audit(stream, 'signoff_recorded', id, user, at, {role = role, decision = decision, digest = digest, policy_digest = redis.call('HGET', meta, 'policy_digest'), comment = reason, replaced_expired = table.concat(replaced, ','), approvals = approvals, min_approvals = minApprovals, version = version})
return {1, version, approvals}
`,
});

export type WithdrawSignoffArgs = {
  evaluation: string;
  role: string;
  user: string;
  digest: string;
  authorised: boolean;
  at: string;
  /** The version the caller saw PASSED; '' when the gate was not PASSED. */
  passedVersion: string;
};

/**
 * Withdraws a sign-off on the evaluation's (artifact digest, policy digest) pair: the withdrawer's
 * own approval or rejection, else the role's rejection (the only way, besides new artifacts, to
 * clear one); someone else's approval stays theirs. The caller decides that `user` may sign the
 * role (authorised). A gate that was PASSED at `passedVersion` (the version the caller saw
 * PASSED; empty when it was not) is re-opened by it: counted in meta `reopened`, audited as
 * gate_reopened with the withdrawal. The evaluation goes back into the open index either way.
 * Every attempt is audited.
 * → {1, version, withdrawnJson, reopened(0/1)} | {0, refusal} | {2} (the state changed since the caller read it: read again)
 */
export const WITHDRAW_SIGNOFF = luaScript<WithdrawSignoffArgs, [number, string | number, string?, number?]>()({
  name: 'rgWithdrawSignoff',
  keys: ['meta', 'signoffs', 'signers', 'evals', 'open', 'stream'],
  helpers: [AUDIT, EVALUATION_GUARD],
  body: `
local id, role, user, digest, at, passedVersion = args.evaluation, args.role, args.user, args.digest, args.at, args.passedVersion
local function refuse(why)
  audit(stream, 'signoff_withdraw_refused', id, user, at, {role = role, reason = why, digest = digest})
  return {0, why}
end
if redis.call('EXISTS', meta) == 0 then return refuse('unknown_evaluation') end
if passedVersion ~= '' and redis.call('HGET', meta, 'version') ~= passedVersion then return {2} end
local refusal = evaluation_refusal(meta, args.authorised, digest)
if refusal then return refuse(refusal) end
local own, rejection, others = nil, nil, 0
local all = redis.call('HGETALL', signoffs)
for i = 1, #all, 2 do
  local rec = cjson.decode(all[i + 1])
  if rec.role == role then
    if rec.user == user then own = {field = all[i], raw = all[i + 1], rec = rec}
    elseif rec.decision == 'rejected' and not rejection then rejection = {field = all[i], raw = all[i + 1], rec = rec}
    else others = others + 1 end
  end
end
local target = own or rejection
if not target then
  if others > 0 then return refuse('not_own_signoff') end
  return refuse('nothing_to_withdraw')
end
local rec = target.rec
redis.call('HDEL', signoffs, target.field)
if redis.call('HGET', signers, rec.user) == role then redis.call('HDEL', signers, rec.user) end
local reopened = 0
if passedVersion ~= '' then
  reopened = 1
  redis.call('HINCRBY', meta, 'reopened', 1)
end
redis.call('ZADD', open, redis.call('ZSCORE', evals, id) or 0, id)
local version = bump(meta, at)
audit(stream, 'signoff_withdrawn', id, user, at, {role = role, decision = rec.decision, signed_by = rec.user, signed_at = rec.at, comment = rec.reason or '', digest = digest, policy_digest = redis.call('HGET', meta, 'policy_digest'), reopened = reopened == 1, version = version})
if reopened == 1 then
  audit(stream, 'gate_reopened', id, user, at, {role = role, withdrawn = rec.decision, signed_by = rec.user, reopened = tonumber(redis.call('HGET', meta, 'reopened')), version = version})
end
return {1, version, target.raw, reopened}
`,
});

export type DropFromOpenArgs = {
  evaluation: string;
  /** The version at which the caller read the evaluation terminal. */
  version: string;
};

/**
 * Drops an evaluation from the open index when the caller saw it terminal at `version` and
 * nothing changed since (a transition that re-opens it, e.g. a withdrawal, bumps the version and
 * adds it back, so a stale read can never drop an open evaluation).
 * → 1 dropped | 0 the state changed since
 */
export const DROP_FROM_OPEN = luaScript<DropFromOpenArgs, number>()({
  name: 'rgDropFromOpen',
  keys: ['meta', 'open'],
  body: `
if redis.call('EXISTS', meta) == 1 and redis.call('HGET', meta, 'version') ~= args.version then return 0 end
redis.call('ZREM', open, args.evaluation)
return 1
`,
});

export type SetMessageRefArgs = {
  /** JSON: the Slack message reference. */
  message: string;
  at: string;
  actor: string;
};

/** → version, or 0 when the evaluation does not exist */
export const SET_MESSAGE_REF = luaScript<SetMessageRefArgs, number>()({
  name: 'rgSetMessageRef',
  keys: ['meta', 'stream'],
  helpers: [AUDIT],
  body: `
if redis.call('EXISTS', meta) == 0 then return 0 end
redis.call('HSET', meta, 'message', args.message)
local version = bump(meta, args.at)
audit(stream, 'message_ref_set', redis.call('HGET', meta, 'id'), args.actor, args.at, {message = cjson.decode(args.message), version = version})
return version
`,
});

/**
 * Waivers of failing checks live on the evaluation's (artifact digest, policy digest) pair, like
 * sign-offs:  P:waiver:<digest>:<policy digest>  hash  check id → waiver record JSON
 * Every attempt, refused ones included, is audited.
 */

export type RequestWaiverArgs = {
  evaluation: string;
  check: string;
  user: string;
  digest: string;
  at: string;
  /** The team policy lists the check and it is not one that can never be waived. */
  waivable: boolean;
  /** The waiver record to store (re-encoded by cjson). */
  record: WaiverRecord;
};

/**
 * → {1, version} | {0, refusal}
 */
export const REQUEST_WAIVER = luaScript<RequestWaiverArgs, [number, string | number]>()({
  name: 'rgRequestWaiver',
  keys: ['meta', 'status', 'checks', 'waivers', 'stream'],
  helpers: [AUDIT, EVALUATION_GUARD],
  body: `
local a = args
local function refuse(why)
  audit(stream, 'waiver_refused', a.evaluation, a.user, a.at, {step = 'request', check = a.check, reason = why, digest = a.digest})
  return {0, why}
end
local refusal = evaluation_refusal(meta, true, a.digest)
if refusal then return refuse(refusal) end
if a.user ~= redis.call('HGET', meta, 'requester') then return refuse('not_requester') end
if not a.waivable then return refuse('not_waivable') end
local st = redis.call('HGET', status, a.check)
if st ~= 'fail' then return refuse('check_not_failing') end
local result = cjson.decode(redis.call('HGET', checks, a.check))
if result.security then return refuse('security_finding') end
local existing = redis.call('HGET', waivers, a.check)
local replaced = ''
if existing then
  local w = cjson.decode(existing)
  if w.status == 'requested' and w.expires_at > a.at then return refuse('waiver_pending') end
  if w.status == 'approved' and w.expires_at > a.at then return refuse('already_waived') end
  replaced = w.id
end
redis.call('HSET', waivers, a.check, cjson.encode(a.record))
local version = bump(meta, a.at)
audit(stream, 'waiver_requested', a.evaluation, a.user, a.at, {waiver = a.record.id, check = a.check, reason = a.record.reason, expires_at = a.record.expires_at, roles = table.concat(a.record.roles, ','), digest = a.digest, policy_digest = a.record.policy_digest, replaced = replaced, version = version})
return {1, version}
`,
});

export type DecideWaiverArgs = {
  evaluation: string;
  check: string;
  waiver: string;
  role: string;
  user: string;
  decision: string;
  reason?: string;
  digest: string;
  at: string;
  authorised: boolean;
};

/**
 * An approval or rejection of a requested waiver by one of its roles; the same rules as
 * sign-offs: authorised (decided by the caller), never the person who asked for the waiver or
 * requested the evaluation, one role per person, each role once. The last required approval
 * makes the waiver effective (audited as waiver_effective).
 * → {1, version, status} | {0, refusal}
 */
export const DECIDE_WAIVER = luaScript<DecideWaiverArgs, [number, string | number, string?]>()({
  name: 'rgDecideWaiver',
  keys: ['meta', 'waivers', 'stream'],
  helpers: [AUDIT, EVALUATION_GUARD],
  body: `
local a = args
local function refuse(why)
  audit(stream, 'waiver_refused', a.evaluation, a.user, a.at, {step = a.decision, waiver = a.waiver, check = a.check, role = a.role, reason = why, digest = a.digest})
  return {0, why}
end
local refusal = evaluation_refusal(meta, a.authorised, a.digest)
if refusal then return refuse(refusal) end
local raw = redis.call('HGET', waivers, a.check)
if not raw then return refuse('unknown_waiver') end
local w = cjson.decode(raw)
if w.id ~= a.waiver then return refuse('unknown_waiver') end
if w.status ~= 'requested' then return refuse('waiver_decided') end
if w.expires_at <= a.at then return refuse('waiver_expired') end
local needed = false
for _, r in ipairs(w.roles) do if r == a.role then needed = true end end
if not needed then return refuse('role_not_required') end
if a.user == w.requested_by or a.user == redis.call('HGET', meta, 'requester') then return refuse('self_approval') end
local approvals = w.approvals
if type(approvals) ~= 'table' then approvals = {} end
for _, ap in ipairs(approvals) do
  if ap.role == a.role then return refuse('role_already_decided') end
  if ap.user == a.user then return refuse('already_approved_other_role') end
end
if a.decision == 'rejected' then
  w.status = 'rejected'
  w.rejection = {role = a.role, user = a.user, at = a.at, reason = a.reason}
else
  approvals[#approvals + 1] = {role = a.role, user = a.user, at = a.at}
  if #approvals >= #w.roles then
    w.status = 'approved'
    w.approved_at = a.at
  end
end
w.approvals = approvals
redis.call('HSET', waivers, a.check, cjson.encode(w))
local version = bump(meta, a.at)
audit(stream, a.decision == 'rejected' and 'waiver_rejected' or 'waiver_approval_recorded', a.evaluation, a.user, a.at, {waiver = w.id, check = a.check, role = a.role, comment = a.reason, digest = a.digest, policy_digest = w.policy_digest, status = w.status, version = version})
if w.status == 'approved' then
  local by = {}
  for _, ap in ipairs(approvals) do by[#by + 1] = ap.role .. ':' .. ap.user end
  audit(stream, 'waiver_effective', a.evaluation, a.user, a.at, {waiver = w.id, check = a.check, requested_by = w.requested_by, approved_by = table.concat(by, ','), reason = w.reason, expires_at = w.expires_at, digest = a.digest, policy_digest = w.policy_digest, version = version})
end
return {1, version, w.status}
`,
});

export type ReleasePostClaimArgs = {
  owner: string;
};

/**
 * The Slack app's render ledger (src/slack/ledger.ts, keys `<prefix>:slack:*`): deletes a post
 * claim only while `owner` still holds it.
 * → 1 deleted | 0 held by someone else (or expired)
 */
export const RELEASE_POST_CLAIM = luaScript<ReleasePostClaimArgs, number>()({
  name: 'rgReleasePostClaim',
  keys: ['claim'],
  body: `
if redis.call('GET', claim) == args.owner then return redis.call('DEL', claim) end
return 0
`,
});

export type SetIfGreaterArgs = {
  field: string;
  value: number;
};

/**
 * Render ledger: sets a hash field to a number only if that moves it forward (two processes may
 * render one message; the rendered version never goes backwards).
 * → 1
 */
export const SET_IF_GREATER = luaScript<SetIfGreaterArgs, number>()({
  name: 'rgSetIfGreater',
  keys: ['hash'],
  body: `
local c = tonumber(redis.call('HGET', hash, args.field) or '0')
if args.value > c then redis.call('HSET', hash, args.field, args.value) end
return 1
`,
});

export type NoteWaiverExpiryArgs = { at: string };

/**
 * Time passing is a transition too: an approved waiver past its expiry stops counting, so the
 * evaluation changes without anyone clicking. Noted once per waiver (audited as waiver_expired)
 * and the version bumped, so the gate message is rendered again.
 * noted: set of waiver ids whose expiry was noted.
 * → version, or 0 when nothing expired since the last call
 */
export const NOTE_WAIVER_EXPIRY = luaScript<NoteWaiverExpiryArgs, number>()({
  name: 'rgNoteWaiverExpiry',
  keys: ['meta', 'waivers', 'noted', 'stream'],
  helpers: [AUDIT],
  body: `
if redis.call('EXISTS', meta) == 0 then return 0 end
local id = redis.call('HGET', meta, 'id')
local changed = false
local all = redis.call('HGETALL', waivers)
for i = 1, #all, 2 do
  local w = cjson.decode(all[i + 1])
  if w.status == 'approved' and w.expires_at <= args.at and redis.call('SADD', noted, w.id) == 1 then
    changed = true
    audit(stream, 'waiver_expired', id, 'clock', args.at, {waiver = w.id, check = w.check, expires_at = w.expires_at, digest = w.digest, policy_digest = w.policy_digest})
  end
end
if not changed then return 0 end
return bump(meta, args.at)
`,
});
