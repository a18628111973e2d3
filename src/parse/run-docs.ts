import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { parsePythonJson, findNumber } from './json.js';
import { findLabeled, findSection, parseSections, parseTables, plain, type Section } from './markdown.js';
import { describeAccuracy, parseAccuracy, type Accuracy } from './numbers.js';

/** An accuracy with where it was read. */
export interface SourcedAccuracy extends Accuracy {
  file: string;
  /** Line number for markdown, dotted key path for JSON. */
  where: string;
}

export function describeSourced(a: SourcedAccuracy): string {
  return `${describeAccuracy(a)} (${a.file}${a.where ? ` ${a.where}` : ''})`;
}

export async function readMarkdownSections(run: RunArtifacts, rel: string, policy: Policy): Promise<Section[]> {
  return parseSections(await run.readText(rel, policy.limits.max_text_bytes));
}

export async function readMetricsJson(run: RunArtifacts, policy: Policy): Promise<unknown> {
  const rel = policy.paths.metrics;
  return parsePythonJson(await run.readText(rel, policy.limits.max_text_bytes), rel);
}

const TEST_ACC_LABEL = /^(?:overall\s+)?test(?:\s+set)?\s+acc(?:uracy)?\b(?!.*\b(?:target|gap)\b)/i;
const VAL_ACC_LABEL = /^(?:best\s+)?val(?:idation)?(?:\s+set)?\s+acc(?:uracy)?\b(?!.*\b(?:target|gap)\b)/i;

const TEST_SPLIT = /^test(?:\s+set)?$/i;
const VAL_SPLIT = /^(?:best\s+)?val(?:idation)?(?:\s+set)?$/i;

/**
 * An accuracy written in markdown: "Label: value" lines and two-column rows first, then the
 * column-table form (`| Split | Loss | Accuracy |` with a `| Test | … | 96.4% |` row).
 */
export function accuracyFromMarkdown(text: string, which: 'test' | 'val'): (Accuracy & { line: number }) | null {
  for (const hit of findLabeled(text, which === 'test' ? TEST_ACC_LABEL : VAL_ACC_LABEL)) {
    const acc = parseAccuracy(hit.value);
    if (acc) return { ...acc, line: hit.line };
  }
  const split = which === 'test' ? TEST_SPLIT : VAL_SPLIT;
  for (const t of parseTables(text)) {
    const accCol = t.headers.findIndex((h) => /^(?:top-?1\s+)?acc(?:uracy)?(?:\s*\(%\))?$/i.test(plain(h)));
    if (accCol <= 0) continue;
    const k = t.rows.findIndex((r) => split.test(plain(r[0] ?? '')));
    const acc = k >= 0 ? parseAccuracy(plain(t.rows[k]![accCol] ?? '')) : null;
    if (acc) return { ...acc, line: t.line + 2 + k };
  }
  return null;
}

function fromMarkdown(text: string, file: string, which: 'test' | 'val'): SourcedAccuracy | null {
  const hit = accuracyFromMarkdown(text, which);
  if (!hit) return null;
  const { line, ...acc } = hit;
  return { ...acc, file, where: `line ${line}` };
}

function fromJson(data: unknown, file: string, keys: readonly string[]): SourcedAccuracy | null {
  const hit = findNumber(data, keys);
  if (!hit) return null;
  const acc = parseAccuracy(hit.value);
  return acc ? { ...acc, file, where: hit.path } : null;
}

async function optionalText(run: RunArtifacts, rel: string, policy: Policy): Promise<string | null> {
  if (!(await run.exists(rel))) return null;
  return run.readText(rel, policy.limits.max_text_bytes);
}

async function optionalMetrics(run: RunArtifacts, policy: Policy): Promise<unknown> {
  if (!(await run.exists(policy.paths.metrics))) return null;
  try {
    return await readMetricsJson(run, policy);
  } catch (err) {
    if (err instanceof GateError && err.code === 'PARSE_ERROR') return null;
    throw err;
  }
}

const TEST_KEYS = ['test_acc', 'test_accuracy', 'test_acc_percent'];
/** The best checkpoint's validation accuracy first; a plain val_acc is taken to be the best one. */
const VAL_KEYS = ['best_val_acc', 'best_val_accuracy', 'val_acc', 'val_accuracy', 'validation_accuracy'];

/** PyTorch test accuracy as the run reports it: test_results.md first, then metrics.json. */
export async function readTestAccuracy(run: RunArtifacts, policy: Policy): Promise<SourcedAccuracy | null> {
  const md = await optionalText(run, policy.paths.test_results, policy);
  const fromMd = md === null ? null : fromMarkdown(md, policy.paths.test_results, 'test');
  if (fromMd) return fromMd;
  return fromJson(await optionalMetrics(run, policy), policy.paths.metrics, TEST_KEYS);
}

/** Validation accuracy of the final training: metrics.json first, then test_results.md. */
export async function readValAccuracy(run: RunArtifacts, policy: Policy): Promise<SourcedAccuracy | null> {
  const fromJ = fromJson(await optionalMetrics(run, policy), policy.paths.metrics, VAL_KEYS);
  if (fromJ) return fromJ;
  const md = await optionalText(run, policy.paths.test_results, policy);
  return md === null ? null : fromMarkdown(md, policy.paths.test_results, 'val');
}

/** Every place a validation accuracy is written (for cross-checks). */
export async function allValAccuracies(run: RunArtifacts, policy: Policy): Promise<SourcedAccuracy[]> {
  const out: SourcedAccuracy[] = [];
  const j = fromJson(await optionalMetrics(run, policy), policy.paths.metrics, VAL_KEYS);
  if (j) out.push(j);
  for (const rel of [policy.paths.test_results, policy.paths.final_report]) {
    const md = await optionalText(run, rel, policy);
    const hit = md === null ? null : fromMarkdown(md, rel, 'val');
    if (hit) out.push(hit);
  }
  return out;
}

export { findSection };
