/**
 * Who may set what. The team's policy (READINESS_CONFIG, `--policy`) is the floor; a run's own
 * readiness.yml and the requester's flags (`--target`) may only make it stricter, field by field,
 * in the direction that field tightens. Fields that are not thresholds (paths, severities, the
 * policy name, sign-off rules, limits, measurement knobs) are the team's alone unless the team
 * policy lists them under `run_overridable`. Pure: no I/O.
 */
import { GateError } from '../errors.js';
import type { Policy } from './schema.js';

/**
 * How a field may be changed by a run or a flag:
 *   higher   a larger value is stricter (targets, minimum scores, request counts)
 *   lower    a smaller value is stricter (budgets, tolerances, maximum deltas)
 *   superset a list that may only grow (required sections)
 *   label    descriptive, any value (the model's display name)
 *   team     only the team policy sets it
 */
export type FieldAuthority = 'higher' | 'lower' | 'superset' | 'label' | 'team';

export const FIELD_AUTHORITY: Readonly<Record<string, FieldAuthority>> = {
  name: 'team',
  model_name: 'label',
  target_accuracy: 'higher',
  'val_gap.max_pp': 'lower',
  'val_gap.excellent_pp': 'lower',
  'per_class.min_f1': 'higher',
  'per_class.min_recall': 'higher',
  'export.min_bytes': 'higher',
  'export.min_checkpoint_ratio': 'higher',
  'export.max_checkpoint_ratio': 'lower',
  'parity.max_delta_pp': 'lower',
  'parity.atol': 'lower',
  'parity.rtol': 'lower',
  'parity.max_flipped': 'lower',
  'parity.batch_size': 'team',
  'latency.p95_budget_ms': 'lower',
  'latency.requests': 'higher',
  'latency.warmup_requests': 'lower',
  'latency.batch_sizes': 'team',
  'latency.concurrency': 'team',
  'latency.intra_op_threads': 'team',
  // how long each throughput run lasts: a measurement knob (a run could make the heavy check cost more), not a threshold
  'latency.throughput_seconds': 'team',
  'docs.deployment_guide_sections': 'superset',
  'docs.test_results_sections': 'superset',
  'docs.monitoring_section': 'team',
  'docs.min_section_chars': 'higher',
  'qa.blocking_severities': 'team',
  run_overridable: 'team',
};

/** Sections whose every field is team-only, and that `run_overridable` can never open up. */
export const TEAM_ONLY_SECTIONS = ['signoff', 'waivers', 'limits'] as const;
/** Fields `run_overridable` can never open up either. */
const NEVER_OVERRIDABLE = new Set(['name', 'run_overridable']);

export function authorityOf(field: string): FieldAuthority {
  const known = FIELD_AUTHORITY[field];
  if (known) return known;
  // paths.*, signoff.*, waivers.*, limits.* (every other field is listed above; a test holds that)
  return 'team';
}

/** A field a run or a flag set, and what it changed. */
export interface AppliedOverride {
  /** "readiness.yml", "command-line flags", "--target" … */
  source: string;
  /** Dotted field path. */
  field: string;
  team: unknown;
  value: unknown;
  /** Why it was allowed: tightened, or listed in the team's run_overridable (or a label). */
  allowed: 'tightened' | 'run_overridable' | 'label';
}

function show(v: unknown): string {
  return Array.isArray(v)
    ? `[${v.map((x) => String(x)).join(', ')}]`
    : typeof v === 'string'
      ? JSON.stringify(v)
      : String(v);
}

/** One line a person can read: `target_accuracy: 85 → 90 (readiness.yml, tightened)`. */
export function describeOverride(o: AppliedOverride): string {
  return `${o.field}: ${show(o.team)} → ${show(o.value)} (${o.source}${o.allowed === 'tightened' ? ', stricter' : o.allowed === 'run_overridable' ? ', allowed by run_overridable' : ''})`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(obj: unknown, field: string): unknown {
  let cur: unknown = obj;
  for (const k of field.split('.')) cur = isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

/** Leaf field paths a partial document sets (arrays are leaves). */
export function leafFields(v: unknown, prefix = ''): string[] {
  if (!isPlainObject(v)) return prefix ? [prefix] : [];
  return Object.entries(v).flatMap(([k, child]) => leafFields(child, prefix ? `${prefix}.${k}` : k));
}

function covers(overridable: readonly string[], field: string): boolean {
  return overridable.some((o) => field === o || field.startsWith(`${o}.`));
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every field path of the policy schema (leaves), to validate run_overridable entries. */
export function policyFieldPaths(policy: Policy): string[] {
  return leafFields(policy);
}

/**
 * Refuses `run_overridable` entries that name no policy field, or that would hand the run the
 * sign-off rules, the waivers, the limits, the policy's name or the allow-list itself.
 */
export function validateRunOverridable(policy: Policy, source: string): void {
  const fields = policyFieldPaths(policy);
  for (const entry of policy.run_overridable) {
    const top = entry.split('.')[0] ?? entry;
    if ((TEAM_ONLY_SECTIONS as readonly string[]).includes(top) || NEVER_OVERRIDABLE.has(entry)) {
      throw new GateError(
        'POLICY_INVALID',
        `${source}: run_overridable: ${entry} can never be set by a run (sign-off rules, limits, the policy name and this list stay the team's)`,
      );
    }
    if (!fields.some((f) => f === entry || f.startsWith(`${entry}.`))) {
      throw new GateError('POLICY_INVALID', `${source}: run_overridable: ${entry} is not a policy field`);
    }
  }
}

/**
 * Checks a run's or a flag's partial policy document against the team's effective policy: every
 * field it sets must tighten (in that field's direction), be a label, or be listed in the team's
 * `run_overridable`. Returns the overrides that change something; throws POLICY_INVALID naming
 * the field, the team value and the attempted value otherwise.
 */
export function checkTightening(
  team: Policy,
  layer: { source: string; data: unknown },
  merged: Policy,
): AppliedOverride[] {
  const out: AppliedOverride[] = [];
  // whole sections first: waivers are keyed by dotted check ids, which leaf paths cannot address
  for (const section of TEAM_ONLY_SECTIONS) {
    if (!isPlainObject(layer.data) || !(section in layer.data)) continue;
    const teamValue = get(team, section);
    const value = (merged as unknown as Record<string, unknown>)[section];
    if (sameValue(teamValue, value)) continue;
    throw new GateError(
      'POLICY_INVALID',
      `${layer.source}: ${section}: may only be set by the team policy (--policy / READINESS_CONFIG), not by the run itself: ${section} is ${JSON.stringify(teamValue)} in the team policy, attempted ${JSON.stringify(value)}`,
    );
  }
  for (const field of leafFields(layer.data)) {
    const teamValue = get(team, field);
    const value = get(merged, field);
    if (sameValue(teamValue, value)) continue;
    const section = field.split('.')[0] ?? field;
    const authority = authorityOf(field);
    const base = { source: layer.source, field, team: teamValue, value };
    if ((TEAM_ONLY_SECTIONS as readonly string[]).includes(section)) {
      throw new GateError(
        'POLICY_INVALID',
        `${layer.source}: ${section}: may only be set by the team policy (--policy / READINESS_CONFIG), not by the run itself: ${field} is ${show(teamValue)} in the team policy, attempted ${show(value)}`,
      );
    }
    if (authority === 'label') {
      out.push({ ...base, allowed: 'label' });
      continue;
    }
    if (covers(team.run_overridable, field) && !NEVER_OVERRIDABLE.has(field)) {
      out.push({ ...base, allowed: 'run_overridable' });
      continue;
    }
    const tighter = tightens(authority, teamValue, value);
    if (tighter === true) {
      out.push({ ...base, allowed: 'tightened' });
      continue;
    }
    const why =
      authority === 'team'
        ? 'may only be set by the team policy (--policy / READINESS_CONFIG) unless it lists the field under run_overridable'
        : `may only be made stricter than the team policy (${authority === 'higher' ? 'a higher value is stricter' : authority === 'lower' ? 'a lower value is stricter' : 'entries may be added, not removed'})`;
    throw new GateError(
      'POLICY_INVALID',
      `${layer.source}: ${field}: ${why}: the team policy has ${show(teamValue)}, attempted ${show(value)}`,
    );
  }
  return out;
}

function tightens(authority: FieldAuthority, team: unknown, value: unknown): boolean {
  switch (authority) {
    case 'higher':
      return typeof team === 'number' && typeof value === 'number' && value >= team;
    case 'lower':
      return typeof team === 'number' && typeof value === 'number' && value <= team;
    case 'superset': {
      if (!Array.isArray(team) || !Array.isArray(value)) return false;
      const norm = (s: unknown) => String(s).trim().toLowerCase();
      const have = new Set(value.map(norm));
      return team.every((t) => have.has(norm(t)));
    }
    default:
      return false;
  }
}
