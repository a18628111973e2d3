import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import { DEFAULT_POLICY, PolicySchema, type Policy } from './schema.js';

/** One layer of policy: where it came from and the partial document it contributes. */
export interface PolicyLayer {
  source: string;
  data: unknown;
}

export interface EffectivePolicy {
  policy: Policy;
  /** sha256 of the canonical JSON of the effective policy. */
  digest: string;
  /** Which layers contributed, in order (defaults first). */
  sources: string[];
  /** Dotted field paths each non-default layer set, so overrides are visible in the result. */
  overrides: { source: string; fields: string[] }[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key; arrays and scalars replace. */
export function mergePolicy(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
      out[k] = k in base ? mergePolicy(base[k], v) : v;
    }
    return out;
  }
  return over === undefined ? base : over;
}

function leafPaths(v: unknown, prefix = ''): string[] {
  if (!isPlainObject(v)) return [prefix];
  return Object.entries(v).flatMap(([k, child]) => leafPaths(child, prefix ? `${prefix}.${k}` : k));
}

export function formatZodIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const field = i.path.length > 0 ? i.path.map(String).join('.') : '(top level)';
      return `${field}: ${i.message}`;
    })
    .join('; ');
}

/** Canonical JSON (sorted keys) so the digest is stable across key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function policyDigest(policy: Policy): string {
  return createHash('sha256').update(canonicalJson(policy)).digest('hex');
}

/**
 * Applies layers in order over the defaults. Each layer is validated as it is applied, so an
 * error names the layer's source, the field path and what was expected.
 */
export function resolvePolicy(layers: readonly PolicyLayer[], base: Policy = DEFAULT_POLICY): EffectivePolicy {
  let current: unknown = base;
  const sources = ['defaults'];
  const overrides: EffectivePolicy['overrides'] = [];
  for (const layer of layers) {
    if (layer.data === null || layer.data === undefined) continue;
    if (!isPlainObject(layer.data)) {
      throw new GateError('POLICY_INVALID', `${layer.source}: expected a mapping of policy fields at the top level`);
    }
    const merged = mergePolicy(current, layer.data);
    const parsed = PolicySchema.safeParse(merged);
    if (!parsed.success) {
      throw new GateError('POLICY_INVALID', `${layer.source}: ${formatZodIssues(parsed.error.issues)}`);
    }
    current = parsed.data;
    sources.push(layer.source);
    overrides.push({ source: layer.source, fields: leafPaths(layer.data) });
  }
  const policy = PolicySchema.parse(current);
  if (policy.val_gap.excellent_pp > policy.val_gap.max_pp) {
    throw new GateError('POLICY_INVALID', `val_gap.excellent_pp (${policy.val_gap.excellent_pp}) must not exceed val_gap.max_pp (${policy.val_gap.max_pp})`);
  }
  return { policy, digest: policyDigest(policy), sources, overrides };
}

/** Parses a YAML or JSON policy document, naming the file on syntax errors. */
export function parsePolicyDocument(text: string, source: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100, prettyErrors: true });
  } catch (err) {
    throw new GateError('POLICY_INVALID', `${source}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

export async function readPolicyFile(file: string): Promise<PolicyLayer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GateError('POLICY_INVALID', `policy file ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return { source: file, data: parsePolicyDocument(text, file) };
}

/**
 * Policy sections a run may not set for itself: who must sign (a run cannot waive its own
 * approvals) and the caps that protect the bot from hostile artifacts.
 */
export const TEAM_ONLY_FIELDS = ['signoff', 'limits'] as const;

/** The run's own readiness.yml, if present (path from the layers before it, else the default). */
export async function readRunPolicy(run: RunArtifacts, rel: string): Promise<PolicyLayer | null> {
  if (!(await run.exists(rel))) return null;
  const text = await run.readText(rel, 1024 * 1024);
  const data = parsePolicyDocument(text, rel);
  if (isPlainObject(data)) {
    for (const field of TEAM_ONLY_FIELDS) {
      if (field in data) {
        throw new GateError('POLICY_INVALID', `${rel}: ${field}: may only be set by the team policy (--policy / READINESS_CONFIG), not by the run itself`);
      }
    }
  }
  return { source: rel, data };
}

export interface PolicyOptions {
  /** Named or file policy layer (already read), applied over the defaults. */
  policyLayer?: PolicyLayer | undefined;
  /** Flag overrides, applied last (e.g. { target_accuracy: 85 }). */
  flags?: Record<string, unknown> | undefined;
}

/** defaults ← policy file ← run's readiness.yml ← flags. */
export async function loadEffectivePolicy(run: RunArtifacts, opts: PolicyOptions = {}): Promise<EffectivePolicy> {
  const first = resolvePolicy(opts.policyLayer ? [opts.policyLayer] : []);
  const runLayer = await readRunPolicy(run, first.policy.paths.run_policy);
  const layers: PolicyLayer[] = [];
  if (opts.policyLayer) layers.push(opts.policyLayer);
  if (runLayer) layers.push(runLayer);
  if (opts.flags && Object.keys(opts.flags).length > 0) layers.push({ source: 'command-line flags', data: opts.flags });
  return resolvePolicy(layers);
}
