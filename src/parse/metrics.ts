/**
 * Metrics by meaning, not position: one vocabulary (accuracy, F1, precision, recall; overall /
 * macro / weighted / micro vs per-class; test / validation / train; best vs last epoch) applied to
 * every form a markdown document writes a metric in — "Label: value" lines, tables with one row
 * per metric or one column per metric (or per split: `| Metric | Validation | Test |`), and tool
 * output pasted in code blocks (scikit-learn's classification_report). Section titles give the
 * split when a label does not ("## Test set" → test). Each value keeps its file and line.
 *
 * When the candidates for one quantity disagree beyond the rounding of what is written, or a value
 * cannot be attributed, the reader throws AmbiguityError ("ambiguous: …" naming each source): a
 * check answers `error`, never a guess.
 */
import { GateError } from '../errors.js';
import {
  type MarkdownDocument,
  type Section,
  sectionCode,
  sectionLines,
  sectionTables,
  splitLabeled,
  type Table,
  titlePath,
} from './markdown.js';
import { type Accuracy, accuraciesAgree, firstNumber, parseAccuracy, type WrittenNumber } from './numbers.js';

export type MetricName = 'accuracy' | 'f1' | 'precision' | 'recall';
export type Split = 'test' | 'val' | 'train';
export type Aggregate = 'overall' | 'macro' | 'weighted' | 'micro' | 'class';
export type EpochChoice = 'best' | 'last';

export interface MetricMeaning {
  metric?: MetricName | undefined;
  split?: Split | undefined;
  aggregate?: Aggregate;
  epoch?: EpochChoice;
  /** A word that makes the value something else than the metric itself (target, gap, lowest…). */
  excluded?: string | undefined;
  /** The label names several metrics or several splits: it cannot be attributed. */
  conflict?: string;
}

/** "ambiguous: …": the reader cannot tell which value is meant. Checks answer `error`. */
export class AmbiguityError extends GateError {
  constructor(message: string) {
    super('PARSE_ERROR', `ambiguous: ${message}`);
  }
}

const METRIC_WORDS: [MetricName, RegExp][] = [
  ['accuracy', /\b(?:top[- ]?1 )?acc(?:uracy)?\b/],
  ['f1', /\bf1(?:[- ]?score)?\b|\bf[- ]score\b|\bf[- ]measure\b/],
  ['precision', /\bprecision\b/],
  ['recall', /\brecall\b|\bsensitivity\b/],
];
const SPLIT_WORDS: [Split, RegExp][] = [
  ['test', /\btest(?:ing)?\b|\bheld[- ]?out\b|\bholdout\b/],
  ['val', /\bval(?:id|idation)?\b|\bdev\b/],
  ['train', /\btrain(?:ing)?\b/],
];
const AGGREGATE_WORDS: [Aggregate, RegExp][] = [
  ['macro', /\bmacro\b/],
  ['weighted', /\bweighted\b/],
  ['micro', /\bmicro\b/],
  ['class', /\bper[- ]?(?:class|label)\b|\bclass [\w-]+|\bclass-wise\b/],
  ['overall', /\boverall\b/],
];
const EXCLUDED =
  /\b(target|goal|required|requirement|threshold|baseline|expected|gap|delta|diff|difference|change|improvement|drop|margin|lowest|highest|worst|min|minimum|max|maximum|std|stdev|variance|top[- ]?[2-9]\d*|ci|interval|loss|support|samples?|count|confidence|error rate|calibration|ece|latency|parity)\b/;

/** Label text as words: markup, underscores and brackets removed, lowercase. */
function words(label: string): string {
  return label
    .toLowerCase()
    .replace(/[*`"'[\](){}]/g, ' ')
    .replace(/_/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** What a label (a line label, a table header or a row label) says about a value. */
export function meaningOf(label: string): MetricMeaning {
  const w = words(label);
  const out: MetricMeaning = {};
  const metrics = METRIC_WORDS.filter(([, re]) => re.test(w)).map(([m]) => m);
  if (metrics.length > 1) out.conflict = `names ${metrics.join(' and ')}`;
  else if (metrics.length === 1) out.metric = metrics[0];
  const splits = SPLIT_WORDS.filter(([, re]) => re.test(w)).map(([s]) => s);
  if (splits.length > 1) out.conflict = `${out.conflict ? `${out.conflict}; ` : ''}names ${splits.join(' and ')}`;
  else if (splits.length === 1) out.split = splits[0];
  const agg = AGGREGATE_WORDS.find(([, re]) => re.test(w));
  if (agg) out.aggregate = agg[0];
  if (/\bbest\b/.test(w)) out.epoch = 'best';
  else if (/\blast\b|\bfinal epoch\b/.test(w)) out.epoch = 'last';
  const ex = EXCLUDED.exec(w);
  if (ex) out.excluded = ex[1];
  return out;
}

/**
 * The split a section's titles give, nearest first. A title naming several splits
 * ("Validation vs Test") gives 'mixed': a value under it without its own split is not attributed.
 */
export function contextSplit(section: Section): Split | 'mixed' | undefined {
  const titles = titlePath(section).reverse();
  for (const t of titles) {
    const splits = SPLIT_WORDS.filter(([, re]) => re.test(words(t))).map(([s]) => s);
    if (splits.length === 1) return splits[0];
    if (splits.length > 1) return 'mixed';
  }
  return undefined;
}

export interface MetricValue {
  meaning: MetricMeaning;
  /** The label as written (row label / column header for tables). */
  label: string;
  number: WrittenNumber | null;
  /** The value text as written. */
  raw: string;
  file: string;
  line: number;
  form: 'line' | 'table' | 'report';
}

export function describeSource(v: MetricValue): string {
  return `${v.file}:${v.line}`;
}

function merge(...ms: MetricMeaning[]): MetricMeaning | null {
  const out: MetricMeaning = {};
  for (const m of ms) {
    if (m.conflict) return null;
    if (m.excluded) out.excluded = m.excluded;
    for (const key of ['metric', 'split', 'aggregate', 'epoch'] as const) {
      const v = m[key];
      if (v === undefined) continue;
      if (out[key] !== undefined && out[key] !== v) return null;
      (out as Record<string, string>)[key] = v;
    }
  }
  return out;
}

export interface ExtractOptions {
  /** Split of values no label or section names (test_results.md → test). */
  defaultSplit?: Split | undefined;
}

function finish(m: MetricMeaning, section: Section, opts: ExtractOptions, valueText: string): MetricMeaning {
  const out = { ...m };
  if (!out.split) {
    const ctx = contextSplit(section);
    if (ctx !== 'mixed') out.split = ctx ?? opts.defaultSplit;
  }
  // "98.3% (last epoch)": the epoch may be written after the value.
  if (!out.epoch && /\b(?:last|final) epoch\b/i.test(valueText)) out.epoch = 'last';
  return out;
}

const CLASS_HEADER = /^(?:class|label|category|digit|name|target class)\b/i;
const SUMMARY_ROW = /^(?:macro|weighted|micro|samples)\b|\bavg\b|\baverage\b|^(?:overall|total|mean|all)$|^accuracy$/i;

function fromLines(doc: MarkdownDocument, opts: ExtractOptions): MetricValue[] {
  const out: MetricValue[] = [];
  for (const l of sectionLines(doc.root)) {
    if (l.kind === 'code') continue;
    // A table row left without its delimiter row is text to GFM, but reads as "| label | value |".
    const cells = /^\|.*\|$/.test(l.text)
      ? l.text
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim())
      : null;
    const hit = cells && cells.length >= 2 ? { label: cells[0]!, value: cells[1]! } : splitLabeled(l.text);
    if (!hit) continue;
    const m = meaningOf(hit.label);
    if (!m.metric || m.conflict || m.excluded) continue;
    out.push({
      meaning: finish(m, l.section, opts, hit.value),
      label: hit.label,
      number: firstNumber(hit.value),
      raw: hit.value,
      file: doc.file,
      line: l.line,
      form: 'line',
    });
  }
  return out;
}

function fromTable(table: Table, section: Section, doc: MarkdownDocument, opts: ExtractOptions): MetricValue[] {
  const out: MetricValue[] = [];
  const heads = table.headers.map(meaningOf);
  const classTable = CLASS_HEADER.test(table.headers[0] ?? '');
  table.rows.forEach((row, r) => {
    const first = row[0] ?? '';
    // A row whose first cell is a number has no row label (one row of metric columns).
    const labelled = firstNumber(first) === null || classTable;
    let rowMeaning: MetricMeaning = labelled ? meaningOf(first) : {};
    if (labelled && classTable && !SUMMARY_ROW.test(first.trim())) rowMeaning = { aggregate: 'class' };
    else if (labelled && classTable && /^accuracy$/i.test(first.trim()))
      rowMeaning = { metric: 'accuracy', aggregate: 'overall' };
    row.forEach((cell, c) => {
      if (labelled && c === 0) return;
      const number = firstNumber(cell);
      if (!number) return;
      let head = heads[c] ?? {};
      // scikit-learn's layout: the accuracy row writes its value in the f1-score column.
      if (rowMeaning.metric === 'accuracy' && head.metric === 'f1') head = { ...head, metric: undefined };
      const m = merge(rowMeaning, head);
      if (!m?.metric || m.excluded) return;
      // The column header is part of the label only when it says something ("Value" does not).
      const h = heads[c] ?? {};
      const telling = h.metric || h.split || h.aggregate || h.epoch;
      const label = [labelled ? first : '', telling || !labelled ? (table.headers[c] ?? '') : '']
        .filter(Boolean)
        .join(' / ');
      out.push({
        meaning: finish(m, section, opts, cell),
        label,
        number,
        raw: cell,
        file: doc.file,
        line: table.rowLines[r] ?? table.line,
        form: 'table',
      });
    });
  });
  return out;
}

export interface ReportRow {
  label: string;
  precision: WrittenNumber | null;
  recall: WrittenNumber | null;
  f1: WrittenNumber | null;
  support: WrittenNumber | null;
  line: number;
}

export interface ClassificationReport {
  file: string;
  /** Line of the header ("precision recall f1-score support"). */
  line: number;
  section: Section;
  rows: ReportRow[];
}

const REPORT_HEADER = /^\s*precision\s+recall\s+f1-score\s+support\s*$/;
const NUM = /^-?\d+(?:\.\d+)?(?:e[-+]?\d+)?$/i;

/** scikit-learn classification_report text pasted in code blocks (any number of digits). */
export function classificationReports(doc: MarkdownDocument): ClassificationReport[] {
  const out: ClassificationReport[] = [];
  for (const code of sectionCode(doc.root)) {
    const k = code.lines.findIndex((l) => REPORT_HEADER.test(l.text));
    if (k < 0) continue;
    const rows: ReportRow[] = [];
    for (const l of code.lines.slice(k + 1)) {
      const tokens = l.text.trim().split(/\s+/);
      if (tokens.length < 2 || l.text.trim() === '') continue;
      let n = 0;
      // At most four numbers from the right: a class may be named by a number ("0") or end in one ("digit 0").
      while (n < 4 && n < tokens.length - 1 && NUM.test(tokens[tokens.length - 1 - n]!)) n++;
      const label = tokens.slice(0, tokens.length - n).join(' ');
      const nums = tokens.slice(tokens.length - n).map((t) => firstNumber(t));
      if (!label) continue;
      if (n === 4)
        rows.push({ label, precision: nums[0]!, recall: nums[1]!, f1: nums[2]!, support: nums[3]!, line: l.line });
      // "accuracy  0.99  360": the accuracy sits in the f1-score column.
      else if (n === 2 && /^accuracy$/i.test(label))
        rows.push({ label, precision: null, recall: null, f1: nums[0]!, support: nums[1]!, line: l.line });
    }
    if (rows.length) out.push({ file: doc.file, line: code.lines[k]!.line, section: code.section, rows });
  }
  return out;
}

function fromReports(doc: MarkdownDocument, opts: ExtractOptions): MetricValue[] {
  const out: MetricValue[] = [];
  for (const rep of classificationReports(doc)) {
    for (const row of rep.rows) {
      const push = (metric: MetricName, aggregate: Aggregate, number: WrittenNumber | null) => {
        if (!number) return;
        out.push({
          meaning: finish({ metric, aggregate }, rep.section, opts, ''),
          label: `classification_report ${row.label} ${metric}`,
          number,
          raw: number.text,
          file: doc.file,
          line: row.line,
          form: 'report',
        });
      };
      if (/^accuracy$/i.test(row.label)) {
        push('accuracy', 'overall', row.f1);
        continue;
      }
      const agg: Aggregate = /^macro avg$/i.test(row.label)
        ? 'macro'
        : /^weighted avg$/i.test(row.label)
          ? 'weighted'
          : /^micro avg$/i.test(row.label)
            ? 'micro'
            : /^samples avg$/i.test(row.label)
              ? 'overall'
              : 'class';
      if (agg === 'class') continue; // per-class rows are read by perClassSources
      push('precision', agg, row.precision);
      push('recall', agg, row.recall);
      push('f1', agg, row.f1);
    }
  }
  return out;
}

/** Every metric value a document writes, in every form, with its meaning and line. */
export function extractMetrics(doc: MarkdownDocument, opts: ExtractOptions = {}): MetricValue[] {
  const tables = sectionTables(doc.root).flatMap(({ table, section }) => fromTable(table, section, doc, opts));
  return [...fromLines(doc, opts), ...tables, ...fromReports(doc, opts)].sort((a, b) => a.line - b.line);
}

export interface MetricWanted {
  metric: MetricName;
  split: Split;
  /** Aggregates in preference order; each inner list is one quantity (values must agree). */
  aggregates: (Aggregate | undefined)[][];
  /** Epoch qualifiers that name this quantity (default: any but "last"). */
  epochs?: (EpochChoice | undefined)[];
}

export interface MetricPick {
  value: MetricValue;
  accuracy: Accuracy;
  /** Every other candidate that agreed with it. */
  agreeing: MetricValue[];
}

/** Values of one quantity, by meaning. Values that are not a number in range are left out. */
export function candidatesFor(
  values: readonly MetricValue[],
  want: MetricWanted,
  aggregates: (Aggregate | undefined)[],
): { v: MetricValue; a: Accuracy }[] {
  const epochs = want.epochs ?? ['best', undefined];
  return values
    .filter(
      (v) =>
        v.meaning.metric === want.metric &&
        v.meaning.split === want.split &&
        aggregates.includes(v.meaning.aggregate) &&
        epochs.includes(v.meaning.epoch),
    )
    .map((v) => ({ v, a: v.number ? parseAccuracy(`${v.number.text}${v.number.percentSign ? '%' : ''}`) : null }))
    .filter((x): x is { v: MetricValue; a: Accuracy } => x.a !== null);
}

const show = (x: { v: MetricValue; a: Accuracy }) => `"${x.v.label}" ${x.v.raw.slice(0, 40)} (${describeSource(x.v)})`;

/**
 * The value of one quantity: the first in document order when every candidate agrees within the
 * rounding of what is written; AmbiguityError naming each source when they disagree; null when
 * the document does not write it.
 */
export function pickMetric(values: readonly MetricValue[], want: MetricWanted): MetricPick | null {
  for (const aggs of want.aggregates) {
    const c = candidatesFor(values, want, aggs);
    if (c.length === 0) continue;
    const first = c[0]!;
    const disagree = c.filter((x) => !c.every((y) => accuraciesAgree(x.a, y.a)));
    if (disagree.length > 0) {
      const what = `${want.split === 'val' ? 'validation' : want.split} ${want.metric}`;
      throw new AmbiguityError(`${c.length} values for the ${what} disagree: ${c.map(show).join(' vs ')}`);
    }
    return { value: first.v, accuracy: first.a, agreeing: c.slice(1).map((x) => x.v) };
  }
  return null;
}

export interface ClassRow {
  name: string;
  precision: WrittenNumber | null;
  recall: WrittenNumber | null;
  f1: WrittenNumber | null;
  line: number;
}

export interface PerClassSource {
  file: string;
  line: number;
  form: 'table' | 'report';
  section: Section;
  rows: ClassRow[];
}

function column(headers: readonly string[], metric: MetricName): number {
  return headers.findIndex((h) => {
    const m = meaningOf(h);
    return m.metric === metric && !m.excluded && !m.conflict;
  });
}

/**
 * Per-class results: tables whose first column names classes and that have an F1 or recall
 * column, and classification_report output. Summary rows (macro avg, accuracy…) are not classes.
 */
export function perClassSources(doc: MarkdownDocument, scope: Section = doc.root): PerClassSource[] {
  const out: PerClassSource[] = [];
  for (const { table, section } of sectionTables(scope)) {
    if (!CLASS_HEADER.test(table.headers[0] ?? '')) continue;
    const f1 = column(table.headers, 'f1');
    const rec = column(table.headers, 'recall');
    const prec = column(table.headers, 'precision');
    if (f1 < 0 && rec < 0) continue;
    const cell = (row: string[], c: number) => (c < 0 ? null : firstNumber(row[c] ?? ''));
    const rows = table.rows
      .map((row, r) => ({ row, line: table.rowLines[r] ?? table.line }))
      .filter(({ row }) => (row[0] ?? '').trim() !== '' && !SUMMARY_ROW.test((row[0] ?? '').trim()))
      .map(({ row, line }) => ({
        name: (row[0] ?? '').trim(),
        f1: cell(row, f1),
        recall: cell(row, rec),
        precision: cell(row, prec),
        line,
      }));
    if (rows.length) out.push({ file: doc.file, line: table.line, form: 'table', section, rows });
  }
  for (const rep of classificationReports(doc)) {
    if (scope !== doc.root && !descendantsOf(scope).includes(rep.section)) continue;
    const rows = rep.rows
      .filter((r) => !SUMMARY_ROW.test(r.label))
      .map((r) => ({ name: r.label, f1: r.f1, recall: r.recall, precision: r.precision, line: r.line }));
    if (rows.length) out.push({ file: doc.file, line: rep.line, form: 'report', section: rep.section, rows });
  }
  return out.sort((a, b) => a.line - b.line);
}

function descendantsOf(s: Section): Section[] {
  return [s, ...s.children.flatMap(descendantsOf)];
}
