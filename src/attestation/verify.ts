/**
 * `readiness verify`: does this run folder hold exactly the bytes a PASSED gate attested? Needs
 * the run, the envelope and the public key only (no Redis, no Slack, no network). The files the
 * policy reads are listed by the same manifest builder the gate uses, from the attested policy.
 */
import type { KeyObject } from 'node:crypto';
import { buildRunManifest, type ManifestEntry, sha256File } from '../artifacts/manifest.js';
import { checkRelativePath, RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import { policyDigest } from '../policy/load.js';
import { type Policy, PolicySchema } from '../policy/schema.js';
import { verifyEnvelope } from './dsse.js';
import { IN_TOTO_PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, type Statement } from './statement.js';

export interface VerifyOptions {
  runDir: string;
  /** The envelope as parsed JSON. */
  envelope: unknown;
  publicKey: KeyObject;
  /** Required policy digest (sha256 hex). */
  policyDigest?: string | undefined;
  /** Maximum age of the PASSED gate (now − predicate.passed_at). */
  maxAgeMs?: number | undefined;
  now?: Date;
}

export interface VerifiedAttestation {
  evaluation_id: string;
  run: string;
  model_name: string;
  keyid: string;
  artifact_digest: string;
  policy: { name: string; digest: string };
  passed_at: string;
  files: number;
}

export type VerifyResult = ({ ok: true } & VerifiedAttestation) | { ok: false; reason: string };

const HEX64 = /^[0-9a-f]{64}$/;

function fail(reason: string): VerifyResult {
  return { ok: false, reason };
}

/** Shape checks of the Statement; returns the first problem, or null. */
function statementProblem(s: unknown): string | null {
  if (typeof s !== 'object' || s === null) return 'payload: not a JSON object';
  const st = s as Partial<Statement> & Record<string, unknown>;
  if (st._type !== STATEMENT_TYPE) return `payload: _type is ${JSON.stringify(st._type)}, expected "${STATEMENT_TYPE}"`;
  if (st.predicateType !== PREDICATE_TYPE)
    return `payload: predicateType is ${JSON.stringify(st.predicateType)}, expected "${PREDICATE_TYPE}"`;
  if (!Array.isArray(st.subject) || st.subject.length === 0) return 'payload: subject must list the attested files';
  const seen = new Set<string>();
  for (const sub of st.subject as unknown[]) {
    const o = sub as { name?: unknown; digest?: { sha256?: unknown } } | null;
    if (!o || typeof o.name !== 'string' || typeof o.digest?.sha256 !== 'string' || !HEX64.test(o.digest.sha256))
      return 'payload: every subject needs a name and a sha256 digest (64 hex digits)';
    try {
      checkRelativePath(o.name, 'subject name');
    } catch (err) {
      return `payload: ${(err as Error).message}`;
    }
    if (seen.has(o.name)) return `payload: subject ${o.name} is listed twice`;
    seen.add(o.name);
  }
  const p = st.predicate as unknown as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object') return 'payload: predicate missing';
  for (const f of ['evaluation_id', 'run', 'passed_at', 'artifact_digest'] as const)
    if (typeof p[f] !== 'string') return `payload: predicate.${f} missing`;
  const pol = p.policy as { digest?: unknown; effective?: unknown } | undefined;
  if (!pol || typeof pol.digest !== 'string' || typeof pol.effective !== 'object' || pol.effective === null)
    return 'payload: predicate.policy needs digest and effective';
  return null;
}

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new GateError('USAGE', `expected a duration like 7d, 12h, 30m or 3600s, got "${text}"`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit * 1000;
}

/** Files the attested policy reads in this run, hashed by the gate's own manifest builder. */
async function currentManifest(run: RunArtifacts, effective: unknown): Promise<ManifestEntry[] | string> {
  const parsed = PolicySchema.safeParse(effective);
  if (!parsed.success)
    return 'policy: the attested policy cannot be read by this version of readiness (its layout paths are unknown), so the files it reads cannot be listed';
  return (await buildRunManifest(run, parsed.data)).entries;
}

/** sha256 of a run file, null when it is absent, or why it cannot be read (a symlink out of the run, not a file). */
async function hashOne(run: RunArtifacts, rel: string): Promise<string | null | { unreadable: string }> {
  try {
    const f = await run.openFile(rel);
    try {
      return await sha256File(f);
    } finally {
      await f.handle.close();
    }
  } catch (err) {
    if (err instanceof GateError && err.code === 'NOT_FOUND') return null;
    if (err instanceof GateError) return { unreadable: err.message };
    throw err;
  }
}

export async function verifyAttestation(opts: VerifyOptions): Promise<VerifyResult> {
  const env = verifyEnvelope(opts.envelope, opts.publicKey, IN_TOTO_PAYLOAD_TYPE);
  if (!env.ok) return fail(env.reason);
  let statement: unknown;
  try {
    statement = JSON.parse(env.body.toString('utf8'));
  } catch {
    return fail('payload: not JSON');
  }
  const problem = statementProblem(statement);
  if (problem) return fail(problem);
  const st = statement as Statement;
  const p = st.predicate;
  if (p.gate !== 'PASSED') return fail(`gate: the attested gate is ${String(p.gate)}, not PASSED`);
  const actualPolicyDigest = policyDigest(p.policy.effective as Policy);
  if (actualPolicyDigest !== p.policy.digest)
    return fail(
      `policy: the attested policy hashes to ${actualPolicyDigest}, not its attested digest ${p.policy.digest}`,
    );
  if (opts.policyDigest !== undefined && opts.policyDigest.toLowerCase() !== p.policy.digest)
    return fail(`policy: digest ${p.policy.digest} ≠ required ${opts.policyDigest}`);
  if (opts.maxAgeMs !== undefined) {
    const passed = Date.parse(p.passed_at);
    if (!Number.isFinite(passed)) return fail(`age: passed_at "${p.passed_at}" is not a time`);
    const age = (opts.now ?? new Date()).getTime() - passed;
    if (age > opts.maxAgeMs)
      return fail(
        `age: the gate passed at ${p.passed_at}, ${Math.floor(age / 3_600_000)} h ago; older than the allowed ${Math.floor(opts.maxAgeMs / 3_600_000)} h`,
      );
  }
  const run = await RunArtifacts.open(opts.runDir);
  const manifest = await currentManifest(run, p.policy.effective);
  if (typeof manifest === 'string') return fail(manifest);
  const byPath = new Map(manifest.map((e) => [e.path, e.sha256]));
  for (const sub of st.subject) {
    const actual = byPath.get(sub.name) ?? (await hashOne(run, sub.name));
    if (actual === null) return fail(`${sub.name}: attested but missing from the run`);
    if (typeof actual === 'object') return fail(`${sub.name}: cannot be read in the run: ${actual.unreadable}`);
    if (actual !== sub.digest.sha256) return fail(`${sub.name}: sha256 ${actual} ≠ attested ${sub.digest.sha256}`);
  }
  const attested = new Set(st.subject.map((s) => s.name));
  for (const e of manifest) {
    if (!attested.has(e.path)) return fail(`${e.path}: read by the policy but not in the attestation's subjects`);
  }
  return {
    ok: true,
    evaluation_id: p.evaluation_id,
    run: p.run,
    model_name: p.model_name,
    keyid: env.keyid,
    artifact_digest: p.artifact_digest,
    policy: { name: p.policy.name, digest: p.policy.digest },
    passed_at: p.passed_at,
    files: st.subject.length,
  };
}
