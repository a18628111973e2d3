/**
 * The configuration reference (docs/configuration.md), generated from the zod schemas themselves:
 * every environment variable, every READINESS_CONFIG field and every policy field with its type,
 * constraints, default and description. A field without a description is an error, so the
 * reference cannot drift from the schemas (a test compares the committed file with this output).
 */
import { z } from 'zod';
import { EnvSchema } from '../config/env.js';
import { ReadinessConfigSchema } from '../config/readiness-config.js';
import { DEFAULT_POLICY, PolicySchema } from '../policy/schema.js';

type Json = Record<string, unknown>;

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

function typeOf(s: Json): string {
  if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).map(typeOf).join(' or ');
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.type === 'array') return `list of ${typeOf((s.items as Json) ?? {})}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties)
    return 'mapping';
  let t = typeof s.type === 'string' ? s.type : Array.isArray(s.type) ? (s.type as string[]).join(' or ') : 'any';
  const bounds: string[] = [];
  if (typeof s.minimum === 'number') bounds.push(`≥ ${s.minimum}`);
  if (typeof s.exclusiveMinimum === 'number') bounds.push(`> ${s.exclusiveMinimum}`);
  if (typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER) bounds.push(`≤ ${s.maximum}`);
  if (typeof s.pattern === 'string') bounds.push(`matching \`${s.pattern}\``);
  if (typeof s.minLength === 'number' && s.minLength > 0) bounds.push('non-empty');
  if (bounds.length) t += ` (${bounds.join(', ')})`;
  return t;
}

function show(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'number' && v >= 1024 * 1024 && Number.isInteger(v) && v % (1024 * 1024) === 0) {
    return `${v} (${v / (1024 * 1024 * 1024) >= 1 && v % (1024 * 1024 * 1024) === 0 ? `${v / (1024 * 1024 * 1024)} GiB` : `${v / (1024 * 1024)} MiB`})`;
  }
  return `\`${JSON.stringify(v)}\``;
}

function get(obj: unknown, path: string[]): unknown {
  return path.reduce<unknown>(
    (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
    obj,
  );
}

/** Flattens a JSON schema's object properties into dotted rows (objects recurse, the rest are leaves). */
function rows(schema: Json, defaults: unknown, prefix: string[] = [], out: Row[] = []): Row[] {
  const props = (schema.properties ?? {}) as Record<string, Json>;
  for (const [key, raw] of Object.entries(props)) {
    const s = (
      Array.isArray(raw.anyOf) && (raw.anyOf as Json[]).length === 1 ? (raw.anyOf as Json[])[0]! : raw
    ) as Json;
    const path = [...prefix, key];
    const name = path.join('.');
    const description = (raw.description ?? s.description) as string | undefined;
    if (s.type === 'object' && s.properties) {
      if (description) out.push({ path: name, type: 'mapping', default: '', description });
      rows(s, defaults, path, out);
      continue;
    }
    if (!description) throw new Error(`configuration reference: ${name} has no description in its zod schema`);
    const d = get(defaults, path);
    out.push({ path: name, type: typeOf(s), default: show(d === undefined ? raw.default : d), description });
  }
  return out;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function table(r: Row[], nameHeader: string): string {
  const lines = [`| ${nameHeader} | type | default | description |`, '|---|---|---|---|'];
  for (const x of r) {
    if (x.type === 'mapping' && x.default === '') lines.push(`| **${x.path}** | mapping | | ${cell(x.description)} |`);
    else lines.push(`| \`${x.path}\` | ${x.type} | ${x.default} | ${cell(x.description)} |`);
  }
  return lines.join('\n');
}

export function renderConfigurationReference(): string {
  // Output types: integers are read from strings, and that is what a reader needs to know.
  const env = z.toJSONSchema(EnvSchema, { io: 'output', unrepresentable: 'any' }) as Json;
  const envDefaults = EnvSchema.parse({});
  const cfg = z.toJSONSchema(ReadinessConfigSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const cfgDefaults = ReadinessConfigSchema.parse({});
  const policy = z.toJSONSchema(PolicySchema, { io: 'input', unrepresentable: 'any' }) as Json;
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from the zod schemas by `npm run docs:config`; a test fails when this file and the schemas disagree. -->',
    '',
    'A wrong setting stops the process at start with the variable or field, and what was expected',
    '(exit code 2 for the CLI).',
    '',
    '## Environment variables',
    '',
    'Read once, by one schema (`src/config/env.ts`); nothing else reads the environment. Each command',
    'needs only some of them: `readiness check` none, `submit`/`status`/`worker` `REDIS_URL` and',
    '`ARTIFACT_ROOT`, `serve` also `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET` (HTTP mode) or',
    '`SLACK_APP_TOKEN` (Socket Mode). Empty values count as unset.',
    '',
    table(rows(env, envDefaults), 'variable'),
    '',
    '## READINESS_CONFIG (YAML)',
    '',
    'The file named by `READINESS_CONFIG`, shared by the Slack app, `readiness submit` and the',
    'workers. Example: `config/readiness.example.yml`. Every named policy is validated against the',
    'policy schema at start-up.',
    '',
    table(rows(cfg, cfgDefaults), 'field'),
    '',
    '## Policy',
    '',
    'Every threshold of the checklist and every artifact path. Layers, later wins: the defaults below ←',
    "`--policy FILE` or a named policy of READINESS_CONFIG ← the run's own `readiness.yml` ← flags",
    "(`--target`). Objects merge field by field; lists replace. Unknown fields are refused. A run's",
    '`readiness.yml` may not set `signoff` or `limits`.',
    '',
    table(rows(policy, DEFAULT_POLICY), 'field'),
    '',
  ].join('\n');
}
