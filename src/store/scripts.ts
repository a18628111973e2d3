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

const AUDIT = `
local function audit(stream, typ, evaluation, actor, at, data)
  return redis.call('XADD', stream, '*', 'type', typ, 'evaluation', evaluation, 'actor', actor, 'at', at, 'data', cjson.encode(data))
end
local function bump(meta, at)
  redis.call('HSET', meta, 'updated_at', at)
  return redis.call('HINCRBY', meta, 'version', 1)
end
`;

/**
 * KEYS: meta, checks, status, runKey, evals, open, audit, pairSignoffs
 * ARGV: id, prefix, at, atMs, supersede(0/1), requester, fieldsJson, pendingJson({id: resultJson}), checkIdsJson, run
 * → {1, supersededId, supersededVersion} | {0}
 */
export const CREATE_EVALUATION = `${AUDIT}
local meta, checks, status, runKey, evals, open, stream, pair = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id, prefix, at, atMs, supersede, requester = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('EXISTS', meta) == 1 then return {0} end
local fields = cjson.decode(ARGV[7])
local pending = cjson.decode(ARGV[8])
local checkIds = cjson.decode(ARGV[9])
local supersededId, supersededVersion = '', 0
local prev = redis.call('GET', runKey)
if prev and supersede == '1' then
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
redis.call('HSET', meta, 'id', id, 'supersedes', supersededId, 'superseded_by', '', 'created_at', at, 'updated_at', at, 'version', 1, 'check_ids', ARGV[9])
for _, cid in ipairs(checkIds) do
  redis.call('HSET', checks, cid, pending[cid])
  redis.call('HSET', status, cid, 'pending')
end
redis.call('SET', runKey, id)
redis.call('ZADD', evals, atMs, id)
redis.call('ZADD', open, atMs, id)
-- inherited sign-offs: the roles, and who signed them (a role may hold several approvals)
local roles, seenRole, signedBy = {}, {}, {}
for _, raw in ipairs(redis.call('HVALS', pair)) do
  local rec = cjson.decode(raw)
  if not seenRole[rec.role] then seenRole[rec.role] = true; table.insert(roles, rec.role) end
  table.insert(signedBy, rec.role .. ':' .. rec.decision .. ':' .. rec.user)
end
table.sort(roles)
table.sort(signedBy)
audit(stream, 'evaluation_created', id, requester, at, {run = ARGV[10], digest = fields['digest'], policy_digest = fields['policy_digest'], policy_overrides = fields['policy_overrides'], inherited_signoffs = table.concat(roles, ','), inherited_signers = table.concat(signedBy, ','), checks = #checkIds, supersedes = supersededId, version = 1})
return {1, supersededId, supersededVersion}
`;

/**
 * KEYS: meta, checks, status, tokens, audit
 * ARGV: checkId, token, at, worker, runningJson, skippedJson
 * → {outcome, version}: started | final | superseded | unknown | unknown_check
 */
export const SET_CHECK_RUNNING = `${AUDIT}
local meta, checks, status, tokens, stream = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cid, token, at, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', meta) == 0 then return {'unknown', 0} end
local st = redis.call('HGET', status, cid)
local version = tonumber(redis.call('HGET', meta, 'version'))
if not st then return {'unknown_check', version} end
if st ~= 'pending' and st ~= 'running' then return {'final', version} end
local id = redis.call('HGET', meta, 'id')
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then
  redis.call('HSET', checks, cid, ARGV[6])
  redis.call('HSET', status, cid, 'skipped')
  redis.call('HDEL', tokens, cid)
  version = bump(meta, at)
  audit(stream, 'check_skipped', id, worker, at, {check = cid, reason = 'evaluation superseded', version = version})
  return {'superseded', version}
end
local previous = redis.call('HGET', tokens, cid) or ''
redis.call('HSET', tokens, cid, token)
redis.call('HSET', status, cid, 'running')
redis.call('HSET', checks, cid, ARGV[5])
version = bump(meta, at)
audit(stream, 'check_running', id, worker, at, {check = cid, token = token, previous_token = previous, version = version})
return {'started', version}
`;

/**
 * KEYS: meta, status, tokens, progress
 * ARGV: checkId, token, progressJson, at
 * → version, or 0 when the attempt is no longer the current one
 */
export const SET_CHECK_PROGRESS = `${AUDIT}
local meta, status, tokens, progress = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('HGET', status, ARGV[1]) ~= 'running' then return 0 end
if redis.call('HGET', tokens, ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', progress, ARGV[1], ARGV[3])
return bump(meta, ARGV[4])
`;

/**
 * KEYS: meta, checks, status, tokens, progress, audit
 * ARGV: checkId, token, resultJson, resultStatus, at, worker, security(0/1), force(0/1)
 * → {outcome, version}: applied | duplicate (already final) | stale (another attempt owns it) | unknown
 * force: the job gave up for good (e.g. stalled too often), so whichever attempt owns the check, it ends.
 */
export const APPLY_CHECK_RESULT = `${AUDIT}
local meta, checks, status, tokens, progress, stream = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local cid, token, at, worker = ARGV[1], ARGV[2], ARGV[5], ARGV[6]
if redis.call('EXISTS', meta) == 0 then return {'unknown', 0} end
local id = redis.call('HGET', meta, 'id')
local version = tonumber(redis.call('HGET', meta, 'version'))
local st = redis.call('HGET', status, cid)
if not st then return {'unknown', version} end
if st ~= 'pending' and st ~= 'running' then
  audit(stream, 'check_result_ignored', id, worker, at, {check = cid, token = token, reason = 'already final', current = st})
  return {'duplicate', version}
end
if ARGV[8] ~= '1' and (st ~= 'running' or redis.call('HGET', tokens, cid) ~= token) then
  audit(stream, 'check_result_ignored', id, worker, at, {check = cid, token = token, reason = 'superseded attempt', current = st})
  return {'stale', version}
end
redis.call('HSET', checks, cid, ARGV[3])
redis.call('HSET', status, cid, ARGV[4])
redis.call('HDEL', progress, cid)
version = bump(meta, at)
audit(stream, 'check_result', id, worker, at, {check = cid, status = ARGV[4], token = token, security = ARGV[7] == '1', version = version})
return {'applied', version}
`;

/**
 * A running attempt hands its check back to the queue (graceful shutdown).
 * KEYS: meta, checks, status, tokens, progress, audit
 * ARGV: checkId, token, pendingJson, at, worker
 * → version, or 0 when the attempt is not the current one
 */
export const RELEASE_CHECK = `${AUDIT}
local meta, checks, status, tokens, progress, stream = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local cid, token, at = ARGV[1], ARGV[2], ARGV[4]
if redis.call('HGET', status, cid) ~= 'running' then return 0 end
if redis.call('HGET', tokens, cid) ~= token then return 0 end
redis.call('HSET', checks, cid, ARGV[3])
redis.call('HSET', status, cid, 'pending')
redis.call('HDEL', tokens, cid)
redis.call('HDEL', progress, cid)
local version = bump(meta, at)
audit(stream, 'check_released', redis.call('HGET', meta, 'id'), ARGV[5], at, {check = cid, token = token, version = version})
return version
`;

/**
 * Runs one final check of an evaluation again on the same artifacts (e.g. a latency test on a
 * machine that was busy): back to pending, its attempt token and progress dropped. Sign-offs stay
 * bound to the digest; the gate is pending until the new result lands.
 * The evaluation goes back into the open index (a rerun on a PASSED or BLOCKED gate re-opens it).
 * KEYS: meta, checks, status, tokens, progress, audit, evals, open
 * ARGV: checkId, pendingJson, at, actor
 * → {outcome, version, rerun}: reset | busy (pending or running) | superseded | unknown | unknown_check
 */
export const RERUN_CHECK = `${AUDIT}
local meta, checks, status, tokens, progress, stream = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local evals, open = KEYS[7], KEYS[8]
local cid, at, actor = ARGV[1], ARGV[3], ARGV[4]
if redis.call('EXISTS', meta) == 0 then return {'unknown', 0, 0} end
local version = tonumber(redis.call('HGET', meta, 'version'))
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then return {'superseded', version, 0} end
local st = redis.call('HGET', status, cid)
if not st then return {'unknown_check', version, 0} end
if st == 'pending' or st == 'running' then return {'busy', version, 0} end
redis.call('HSET', checks, cid, ARGV[2])
redis.call('HSET', status, cid, 'pending')
redis.call('HDEL', tokens, cid)
redis.call('HDEL', progress, cid)
local n = redis.call('HINCRBY', meta, 'reruns', 1)
local eid = redis.call('HGET', meta, 'id')
redis.call('ZADD', open, redis.call('ZSCORE', evals, eid) or 0, eid)
version = bump(meta, at)
audit(stream, 'check_rerun', redis.call('HGET', meta, 'id'), actor, at, {check = cid, previous = st, rerun = n, version = version})
return {'reset', version, n}
`;

/**
 * Compare-and-set sign-off on the evaluation's (artifact digest, policy digest) pair. A role holds
 * one record per person (field "<role>|<user>"; records stored before N-of-M sit under "<role>"):
 * it is complete with `minApprovals` current approvals, and closed by any rejection. Each person
 * counts once. Every attempt, refused ones included, is audited. An approval older than the
 * policy's signoff.max_age_days (recorded before `expiredBefore`) no longer counts and is dropped
 * when the role is signed again.
 * KEYS: meta, status, pairSignoffs, pairSigners, audit, pairWaivers, checks
 * ARGV: evaluationId, role, decision, user, reason, digest, authorised, allowSelf, onePerPerson, at, recordJson, expiredBefore, minApprovals
 * → {1, version, approvals} | {0, refusal}
 */
export const RECORD_SIGNOFF = `${AUDIT}
local meta, status, signoffs, signers, stream, waiversKey, checksKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, role, decision, user, reason, digest = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local authorised, allowSelf, onePerPerson, at, expiredBefore = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[12]
local minApprovals = tonumber(ARGV[13]) or 1
local function refuse(why)
  audit(stream, 'signoff_refused', id, user, at, {role = role, decision = decision, reason = why, digest = digest, comment = reason})
  return {0, why}
end
if redis.call('EXISTS', meta) == 0 then return refuse('unknown_evaluation') end
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then return refuse('superseded') end
if authorised ~= '1' then return refuse('not_authorised') end
if redis.call('HGET', meta, 'digest') ~= digest then return refuse('digest_changed') end
if user == redis.call('HGET', meta, 'requester') and allowSelf ~= '1' and redis.call('HGET', meta, 'allow_self_approval') ~= '1' then
  return refuse('self_approval')
end
local approvals, expired, own = 0, {}, false
local all = redis.call('HGETALL', signoffs)
for i = 1, #all, 2 do
  local rec = cjson.decode(all[i + 1])
  if rec.role == role then
    if rec.decision ~= 'approved' then return refuse('role_already_signed') end
    if rec.at <= expiredBefore then
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
if onePerPerson == '1' and other and other ~= role then return refuse('already_signed_other_role') end
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
redis.call('HSET', signoffs, role .. '|' .. user, ARGV[11])
redis.call('HSET', signers, user, role)
if decision == 'approved' then approvals = approvals + 1 end
local version = bump(meta, at)
audit(stream, 'signoff_recorded', id, user, at, {role = role, decision = decision, digest = digest, policy_digest = redis.call('HGET', meta, 'policy_digest'), comment = reason, replaced_expired = table.concat(replaced, ','), approvals = approvals, min_approvals = minApprovals, version = version})
return {1, version, approvals}
`;

/**
 * Withdraws a sign-off on the evaluation's (artifact digest, policy digest) pair: the withdrawer's
 * own approval or rejection, else the role's rejection (the only way, besides new artifacts, to
 * clear one); someone else's approval stays theirs. The caller decides that `user` may sign the
 * role (authorised). A gate that was PASSED at `passedVersion` (the version the caller saw
 * PASSED; empty when it was not) is re-opened by it: counted in meta `reopened`, audited as
 * gate_reopened with the withdrawal. The evaluation goes back into the open index either way.
 * Every attempt is audited.
 * KEYS: meta, pairSignoffs, pairSigners, evals, open, audit
 * ARGV: evaluationId, role, user, digest, authorised, at, passedVersion
 * → {1, version, withdrawnJson, reopened(0/1)} | {0, refusal} | {2} (the state changed since the caller read it: read again)
 */
export const WITHDRAW_SIGNOFF = `${AUDIT}
local meta, signoffs, signers, evals, open, stream = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, role, user, digest, authorised, at, passedVersion = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local function refuse(why)
  audit(stream, 'signoff_withdraw_refused', id, user, at, {role = role, reason = why, digest = digest})
  return {0, why}
end
if redis.call('EXISTS', meta) == 0 then return refuse('unknown_evaluation') end
if passedVersion ~= '' and redis.call('HGET', meta, 'version') ~= passedVersion then return {2} end
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then return refuse('superseded') end
if authorised ~= '1' then return refuse('not_authorised') end
if redis.call('HGET', meta, 'digest') ~= digest then return refuse('digest_changed') end
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
`;

/**
 * Drops an evaluation from the open index when the caller saw it terminal at `version` and
 * nothing changed since (a transition that re-opens it, e.g. a withdrawal, bumps the version and
 * adds it back, so a stale read can never drop an open evaluation).
 * KEYS: meta, open
 * ARGV: evaluationId, version
 * → 1 dropped | 0 the state changed since
 */
export const DROP_FROM_OPEN = `
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HGET', KEYS[1], 'version') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/**
 * KEYS: meta, audit
 * ARGV: messageJson, at, actor
 * → version, or 0 when the evaluation does not exist
 */
export const SET_MESSAGE_REF = `${AUDIT}
local meta, stream = KEYS[1], KEYS[2]
if redis.call('EXISTS', meta) == 0 then return 0 end
redis.call('HSET', meta, 'message', ARGV[1])
local version = bump(meta, ARGV[2])
audit(stream, 'message_ref_set', redis.call('HGET', meta, 'id'), ARGV[3], ARGV[2], {message = cjson.decode(ARGV[1]), version = version})
return version
`;

/**
 * Waivers of failing checks live on the evaluation's (artifact digest, policy digest) pair, like
 * sign-offs:  P:waiver:<digest>:<policy digest>  hash  check id → waiver record JSON
 * Each script takes one JSON argument; every attempt, refused ones included, is audited.
 */

/**
 * KEYS: meta, status, checks, pairWaivers, audit
 * ARGV[1]: {evaluation, check, user, digest, at, waivable(bool), record}
 * → {1, version} | {0, refusal}
 */
export const REQUEST_WAIVER = `${AUDIT}
local meta, status, checks, waivers, stream = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local a = cjson.decode(ARGV[1])
local function refuse(why)
  audit(stream, 'waiver_refused', a.evaluation, a.user, a.at, {step = 'request', check = a.check, reason = why, digest = a.digest})
  return {0, why}
end
if redis.call('EXISTS', meta) == 0 then return refuse('unknown_evaluation') end
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then return refuse('superseded') end
if redis.call('HGET', meta, 'digest') ~= a.digest then return refuse('digest_changed') end
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
`;

/**
 * An approval or rejection of a requested waiver by one of its roles; the same rules as
 * sign-offs: authorised (decided by the caller), never the person who asked for the waiver or
 * requested the evaluation, one role per person, each role once. The last required approval
 * makes the waiver effective (audited as waiver_effective).
 * KEYS: meta, pairWaivers, audit
 * ARGV[1]: {evaluation, check, waiver, role, user, decision, reason, digest, at, authorised(bool)}
 * → {1, version, status} | {0, refusal}
 */
export const DECIDE_WAIVER = `${AUDIT}
local meta, waivers, stream = KEYS[1], KEYS[2], KEYS[3]
local a = cjson.decode(ARGV[1])
local function refuse(why)
  audit(stream, 'waiver_refused', a.evaluation, a.user, a.at, {step = a.decision, waiver = a.waiver, check = a.check, role = a.role, reason = why, digest = a.digest})
  return {0, why}
end
if redis.call('EXISTS', meta) == 0 then return refuse('unknown_evaluation') end
if (redis.call('HGET', meta, 'superseded_by') or '') ~= '' then return refuse('superseded') end
if not a.authorised then return refuse('not_authorised') end
if redis.call('HGET', meta, 'digest') ~= a.digest then return refuse('digest_changed') end
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
`;

/**
 * The Slack app's render ledger (src/slack/ledger.ts, keys `<prefix>:slack:*`): deletes a post
 * claim only while `owner` still holds it.
 * KEYS: claim
 * ARGV: owner
 * → 1 deleted | 0 held by someone else (or expired)
 */
export const RELEASE_POST_CLAIM =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * Render ledger: sets a hash field to a number only if that moves it forward (two processes may
 * render one message; the rendered version never goes backwards).
 * KEYS: hash
 * ARGV: field, number
 * → 1
 */
export const SET_IF_GREATER =
  "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1";
