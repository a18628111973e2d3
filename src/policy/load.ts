import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import type { RunArtifacts } from '../artifacts/run.js';
import { AUTOMATED_CHECKS } from '../checks/registry.js';
import { GateError } from '../errors.js';
import { assertYamlDepth } from '../parse/bounded.js';
import { validatePolicyWaivers } from '../waivers/waivers.js';
import {
  type AppliedOverride,
  checkTightening,
  leafFields,
  TEAM_ONLY_SECTIONS,
  validateRunOverridable,
} from './authority.js';
import { DEFAULT_POLICY, type Policy, PolicySchema } from './schema.js';

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
  /**
   * What the run's readiness.yml and the command flags changed relative to the team policy (each
   * one stricter, a label, or allowed by the team's run_overridable). Shown wherever results are.
   */
  applied?: AppliedOverride[];
  /** sha256 of the team policy alone (the floor the run's own layers were checked against). */
  team_digest?: string;
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

function applyLayer(current: unknown, layer: PolicyLayer): Policy {
  if (!isPlainObject(layer.data)) {
    throw new GateError('POLICY_INVALID', `${layer.source}: expected a mapping of policy fields at the top level`);
  }
  const parsed = PolicySchema.safeParse(mergePolicy(current, layer.data));
  if (!parsed.success) {
    throw new GateError('POLICY_INVALID', `${layer.source}: ${formatZodIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

function checkConsistent(policy: Policy): void {
  if (policy.val_gap.excellent_pp > policy.val_gap.max_pp) {
    throw new GateError(
      'POLICY_INVALID',
      `val_gap.excellent_pp (${policy.val_gap.excellent_pp}) must not exceed val_gap.max_pp (${policy.val_gap.max_pp})`,
    );
  }
}

/**
 * Applies the team's layers in order over the defaults, then the run's own layers (readiness.yml,
 * command flags), each of which may only tighten the team's result (see authority.ts). Each
 * layer is validated as it is applied, so an error names the layer's source, the field path and
 * what was expected, or the team value and the attempted one.
 */
export function resolvePolicy(
  layers: readonly PolicyLayer[],
  base: Policy = DEFAULT_POLICY,
  runLayers: readonly PolicyLayer[] = [],
): EffectivePolicy {
  let current: Policy = base;
  const sources = ['defaults'];
  const overrides: EffectivePolicy['overrides'] = [];
  for (const layer of layers) {
    if (layer.data === null || layer.data === undefined) continue;
    current = applyLayer(current, layer);
    sources.push(layer.source);
    overrides.push({ source: layer.source, fields: leafFields(layer.data) });
  }
  const team = PolicySchema.parse(current);
  checkConsistent(team);
  validateRunOverridable(team, layers.at(-1)?.source ?? 'defaults');
  validatePolicyWaivers(
    team,
    AUTOMATED_CHECKS.map((c) => c.id),
    layers.at(-1)?.source ?? 'defaults',
  );
  const applied: AppliedOverride[] = [];
  for (const layer of runLayers) {
    if (layer.data === null || layer.data === undefined) continue;
    const merged = applyLayer(current, layer);
    applied.push(...checkTightening(team, layer, merged));
    current = merged;
    sources.push(layer.source);
    overrides.push({ source: layer.source, fields: leafFields(layer.data) });
  }
  const policy = PolicySchema.parse(current);
  checkConsistent(policy);
  // a later layer may set a field again: the last word for each field is what is shown
  const last = new Map<string, AppliedOverride>();
  for (const o of applied) last.set(o.field, o);
  const shown = [...last.values()]
    .filter((o) => JSON.stringify(o.team) !== JSON.stringify(fieldValue(policy, o.field)))
    .map((o) => ({ ...o, value: fieldValue(policy, o.field) }));
  return { policy, digest: policyDigest(policy), sources, overrides, applied: shown, team_digest: policyDigest(team) };
}

function fieldValue(policy: Policy, field: string): unknown {
  let cur: unknown = policy;
  for (const k of field.split('.')) cur = isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

/**
 * Parses a YAML or JSON policy document, naming the file on syntax errors. A run's readiness.yml
 * is untrusted: nesting is refused past the depth limit before the parser sees it (the YAML
 * parser spends seconds and hundreds of MB on a file of nested brackets before giving up).
 */
export function parsePolicyDocument(text: string, source: string): unknown {
  try {
    assertYamlDepth(text, source);
  } catch (err) {
    throw new GateError('POLICY_INVALID', (err as Error).message, { cause: err });
  }
  try {
    return parseYaml(text, { maxAliasCount: 100, prettyErrors: true });
  } catch (err) {
    throw new GateError('POLICY_INVALID', `${source}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
}

export async function readPolicyFile(file: string): Promise<PolicyLayer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GateError('POLICY_INVALID', `policy file ${file} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { source: file, data: parsePolicyDocument(text, file) };
}

/**
 * Policy sections a run may not even mention: who must sign (a run cannot waive its own
 * approvals) and the caps that protect the bot from hostile artifacts.
 */
export const TEAM_ONLY_FIELDS = TEAM_ONLY_SECTIONS;

/** The run's own readiness.yml, if present (path from the layers before it, else the default). */
export async function readRunPolicy(run: RunArtifacts, rel: string): Promise<PolicyLayer | null> {
  if (!(await run.exists(rel))) return null;
  const text = await run.readText(rel, 1024 * 1024);
  const data = parsePolicyDocument(text, rel);
  if (isPlainObject(data)) {
    for (const field of TEAM_ONLY_FIELDS) {
      if (field in data) {
        throw new GateError(
          'POLICY_INVALID',
          `${rel}: ${field}: may only be set by the team policy (--policy / READINESS_CONFIG), not by the run itself`,
        );
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

/**
 * defaults ← team policy (the floor) ← run's readiness.yml ← flags; the last two may only
 * tighten the team's thresholds (a loosening attempt is a POLICY_INVALID naming the field).
 */
export async function loadEffectivePolicy(run: RunArtifacts, opts: PolicyOptions = {}): Promise<EffectivePolicy> {
  const teamLayers = opts.policyLayer ? [opts.policyLayer] : [];
  const team = resolvePolicy(teamLayers);
  const runLayer = await readRunPolicy(run, team.policy.paths.run_policy);
  const runLayers: PolicyLayer[] = [];
  if (runLayer) runLayers.push(runLayer);
  if (opts.flags && Object.keys(opts.flags).length > 0)
    runLayers.push({ source: 'command-line flags', data: opts.flags });
  return resolvePolicy(teamLayers, DEFAULT_POLICY, runLayers);
}
