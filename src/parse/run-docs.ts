import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { findJsonMetric, type JsonDocument, parseJsonDocument } from './json.js';
import { findSection, linesAndRows, type MarkdownDocument, parseMarkdown, type TextLine } from './markdown.js';
import { AmbiguityError, extractMetrics, pickMetric, type Split } from './metrics.js';
import { type Accuracy, describeAccuracy, parseAccuracy } from './numbers.js';

/** An accuracy with where it was read. */
export interface SourcedAccuracy extends Accuracy {
  file: string;
  /** "line N" for markdown, dotted key path for JSON. */
  where: string;
}

export function describeSourced(a: SourcedAccuracy): string {
  return `${describeAccuracy(a)} (${a.file}${a.where ? ` ${a.where}` : ''})`;
}

/** A run document parsed into the document model. */
export async function readMarkdown(run: RunArtifacts, rel: string, policy: Policy): Promise<MarkdownDocument> {
  return parseMarkdown(await run.readText(rel, policy.limits.max_text_bytes), rel);
}

export async function optionalMarkdown(
  run: RunArtifacts,
  rel: string,
  policy: Policy,
): Promise<MarkdownDocument | null> {
  if (!(await run.exists(rel))) return null;
  return readMarkdown(run, rel, policy);
}

/** The lines of final_report.md's "Reproducibility" section and its sub-sections (a table row reads as "label: value"). */
export function reproducibilityLines(doc: MarkdownDocument): { title: string; line: number; lines: TextLine[] } | null {
  const section = findSection(doc, 'Reproducibility');
  return section ? { title: section.title, line: section.line, lines: linesAndRows(section, ': ') } : null;
}

/**
 * The config file the reproducibility section names (first line mentioning "config" with a
 * .yaml/.yml/.json/.toml path), as written (a leading "./" dropped). One reading for the check
 * that requires it (repro.documented) and the manifest that must hash it.
 */
export function documentedConfigFile(lines: readonly TextLine[]): { rel: string; line: number } | null {
  const l = lines.find((x) => /config/i.test(x.text));
  const m = l ? /([\w./-]+\.(?:ya?ml|json|toml))/i.exec(l.text) : null;
  return l && m?.[1] ? { rel: m[1].replace(/^\.\//, ''), line: l.line } : null;
}

/** The split a document's unlabelled values belong to: test_results.md reports the test set. */
export function documentSplit(rel: string, policy: Policy): Split | undefined {
  return rel === policy.paths.test_results ? 'test' : undefined;
}

/** Accuracy is one quantity whether written plain, "overall" or "micro". */
const OVERALL = [[undefined, 'overall', 'micro']] as const;

/**
 * The test or validation accuracy a markdown document writes, by meaning (lines, tables by row
 * or column, classification_report). Throws AmbiguityError when its values disagree.
 */
export function accuracyInDocument(
  doc: MarkdownDocument,
  which: 'test' | 'val',
  defaultSplit?: Split,
): SourcedAccuracy | null {
  const pick = pickMetric(extractMetrics(doc, { defaultSplit }), {
    metric: 'accuracy',
    split: which,
    aggregates: OVERALL.map((a) => [...a]),
  });
  return pick ? { ...pick.accuracy, file: doc.file, where: `line ${pick.value.line}` } : null;
}

/** An accuracy from metrics.json by meaning (json.ts's vocabulary), with its key path and line. */
function fromJson(doc: JsonDocument | null, which: 'test' | 'val'): SourcedAccuracy | null {
  if (!doc) return null;
  // The checkpoint is the best epoch's: a plain val_acc is taken to be the best one.
  const answer = findJsonMetric(
    doc,
    which === 'val' ? { split: 'val', kind: 'accuracy', epoch: 'best' } : { split: 'test', kind: 'accuracy' },
  );
  if (!answer) return null;
  if ('ambiguous' in answer) throw new AmbiguityError(answer.ambiguous.replace(/^ambiguous:\s*/, ''));
  const m = answer.found;
  const written: unknown = m.written.startsWith('"') ? JSON.parse(m.written) : m.value;
  const acc = typeof written === 'number' || typeof written === 'string' ? parseAccuracy(written) : null;
  return acc ? { ...acc, file: doc.file, where: `${m.path}${m.line ? ` line ${m.line}` : ''}` } : null;
}

async function optionalMetrics(run: RunArtifacts, policy: Policy): Promise<JsonDocument | null> {
  if (!(await run.exists(policy.paths.metrics))) return null;
  try {
    return parseJsonDocument(
      await run.readText(policy.paths.metrics, policy.limits.max_text_bytes),
      policy.paths.metrics,
    );
  } catch (err) {
    if (err instanceof GateError && err.code === 'PARSE_ERROR' && !(err instanceof AmbiguityError)) return null;
    throw err;
  }
}

async function accuracyInRunDocument(
  run: RunArtifacts,
  rel: string,
  policy: Policy,
  which: 'test' | 'val',
): Promise<SourcedAccuracy | null> {
  const doc = await optionalMarkdown(run, rel, policy);
  return doc === null ? null : accuracyInDocument(doc, which, documentSplit(rel, policy));
}

/** PyTorch test accuracy as the run reports it: test_results.md first, then metrics.json. */
export async function readTestAccuracy(run: RunArtifacts, policy: Policy): Promise<SourcedAccuracy | null> {
  const fromMd = await accuracyInRunDocument(run, policy.paths.test_results, policy, 'test');
  if (fromMd) return fromMd;
  return fromJson(await optionalMetrics(run, policy), 'test');
}

/** Validation accuracy of the final training: metrics.json first, then test_results.md. */
export async function readValAccuracy(run: RunArtifacts, policy: Policy): Promise<SourcedAccuracy | null> {
  const fromJ = fromJson(await optionalMetrics(run, policy), 'val');
  if (fromJ) return fromJ;
  return accuracyInRunDocument(run, policy.paths.test_results, policy, 'val');
}

/** Every place a validation or test accuracy is written (for cross-checks). */
export async function allAccuracies(
  run: RunArtifacts,
  policy: Policy,
  which: 'test' | 'val',
): Promise<SourcedAccuracy[]> {
  const out: SourcedAccuracy[] = [];
  const j = fromJson(await optionalMetrics(run, policy), which);
  if (j) out.push(j);
  for (const rel of [policy.paths.test_results, policy.paths.final_report]) {
    const hit = await accuracyInRunDocument(run, rel, policy, which);
    if (hit) out.push(hit);
  }
  return out;
}
