import { GateError } from '../errors.js';
import { assertJsonDepth, MAX_NESTING_DEPTH } from './bounded.js';

/**
 * JSON as ML tools write it, with the line of every value.
 *
 * Accepted beyond RFC 8259 — what JSON writers put where a number is not finite:
 * bare `NaN`, `-NaN`, `nan`, `Infinity`, `-Infinity`, `+Infinity`, `inf`, `-inf`, `Inf`
 * (Python's json, C printf, Julia, numpy-based writers). Strings such as `"NaN"` / `"inf"` and
 * `null` stay as written; {@link numericValue} says what they mean where a number is expected.
 * Nesting is refused past a depth limit before parsing (see bounded.ts).
 */
export type JsonPath = readonly (string | number)[];

export interface JsonDocument {
  file: string;
  value: unknown;
  /**
   * Line of the value at a path (segments, or the dotted form `history.train_loss[3]`); found by
   * a scan of the text on demand, so parsing keeps no per-value bookkeeping (a file of millions
   * of numbers costs no more than its values).
   */
  lineOf(path: JsonPath | string): number | undefined;
  /** Keys written twice in one object (JSON.parse would silently keep the last). */
  duplicates: { path: string; lines: [number, number] }[];
}

const NON_FINITE_WORDS: [string, number][] = [
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['+Infinity', Number.POSITIVE_INFINITY],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-infinity', Number.NEGATIVE_INFINITY],
  ['infinity', Number.POSITIVE_INFINITY],
  ['-NaN', Number.NaN],
  ['-nan', Number.NaN],
  ['NaN', Number.NaN],
  ['nan', Number.NaN],
  ['-Inf', Number.NEGATIVE_INFINITY],
  ['+Inf', Number.POSITIVE_INFINITY],
  ['Inf', Number.POSITIVE_INFINITY],
  ['-inf', Number.NEGATIVE_INFINITY],
  ['+inf', Number.POSITIVE_INFINITY],
  ['inf', Number.POSITIVE_INFINITY],
];
const NON_FINITE_START = new Set(['N', 'n', 'I', 'i', '-', '+']);

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;

/** Formats a path for evidence: `history.train_loss[3]`. */
export function formatPath(path: JsonPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

function parsePath(p: string): JsonPath {
  const out: (string | number)[] = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

class JsonReader {
  pos = 0;
  line = 1;
  readonly duplicates: { path: string; lines: [number, number] }[] = [];
  /** Keys of the objects being read, for naming a duplicate. */
  private readonly stack: (string | number)[] = [];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  fail(what: string): never {
    throw new GateError('PARSE_ERROR', `${this.file} is not valid JSON: ${what} at line ${this.line}`, {
      file: this.file,
    });
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 10) this.line++;
      else if (c !== 32 && c !== 9 && c !== 13) break;
      this.pos++;
    }
  }

  value(): unknown {
    this.ws();
    const t = this.text;
    const c = t[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't' && t.startsWith('true', this.pos)) {
      this.pos += 4;
      return true;
    }
    if (c === 'f' && t.startsWith('false', this.pos)) {
      this.pos += 5;
      return false;
    }
    if (c === 'n' && t.startsWith('null', this.pos)) {
      this.pos += 4;
      return null;
    }
    if (c !== undefined && NON_FINITE_START.has(c)) {
      for (const [w, v] of NON_FINITE_WORDS) {
        if (t.startsWith(w, this.pos) && !/[A-Za-z0-9_]/.test(t[this.pos + w.length] ?? '')) {
          this.pos += w.length;
          return v;
        }
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(t);
    if (!m) this.fail(this.pos >= t.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(t[this.pos])}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }

  string(): string {
    const t = this.text;
    const start = this.pos;
    let escaped = false;
    this.pos++;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 92) {
        this.pos += 2;
        escaped = true;
      } else if (c === 34) break;
      else if (c < 32) this.fail('control character in a string');
      else this.pos++;
    }
    this.pos++;
    if (!escaped) return t.slice(start + 1, this.pos - 1);
    try {
      return JSON.parse(t.slice(start, this.pos)) as string;
    } catch {
      return this.fail('bad escape in a string');
    }
  }

  /** Reads the comma-separated items of the object or array opened at `pos`, through its `close`. */
  private items(close: '}' | ']', item: () => void): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === close) {
      this.pos++;
      return;
    }
    for (;;) {
      item();
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === close) return;
      if (c !== ',') this.fail(`expected "," or "${close}"`);
    }
  }

  object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keyLines = new Map<string, number>();
    this.items('}', () => {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a key string');
      const keyLine = this.line;
      const key = this.string();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail('expected ":"');
      this.pos++;
      const prev = keyLines.get(key);
      if (prev !== undefined) this.duplicates.push({ path: formatPath([...this.stack, key]), lines: [prev, keyLine] });
      keyLines.set(key, keyLine);
      this.stack.push(key);
      // defineProperty: a "__proto__" key is data, not the prototype.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.stack.pop();
    });
    return out;
  }

  array(): unknown[] {
    const out: unknown[] = [];
    this.items(']', () => {
      this.stack.push(out.length);
      out.push(this.value());
      this.stack.pop();
    });
    return out;
  }
}

/**
 * Line of the value at `path`, by scanning the text (strings and nesting respected). For a key
 * written twice the last one is taken, as JSON.parse does. Undefined when the path is absent.
 */
export function locateJsonLine(text: string, path: JsonPath): number | undefined {
  const n = text.length;
  let i = 0;
  let line = 1;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      i++;
    }
  };
  const skipString = (): void => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 92) i += 2;
      else if (c === 34) return void i++;
      else i++;
    }
  };
  const skipValue = (): void => {
    ws();
    const c = text[i];
    if (c === '"') return skipString();
    if (c === '[' || c === '{') {
      let depth = 0;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 34) {
          skipString();
          continue;
        }
        if (d === 10) line++;
        else if (d === 91 || d === 123) depth++;
        else if (d === 93 || d === 125) {
          depth--;
          if (depth === 0) return void i++;
        }
        i++;
      }
      return;
    }
    while (i < n && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  for (const seg of path) {
    ws();
    if (typeof seg === 'number') {
      if (text[i] !== '[') return undefined;
      i++;
      for (let k = 0; k < seg; k++) {
        ws();
        if (text[i] === ']') return undefined;
        skipValue();
        ws();
        if (text[i] !== ',') return undefined;
        i++;
      }
      ws();
      if (text[i] === ']') return undefined;
      continue;
    }
    if (text[i] !== '{') return undefined;
    i++;
    let found: { i: number; line: number } | null = null;
    for (;;) {
      ws();
      if (text[i] !== '"') break;
      const start = i;
      skipString();
      let key: string;
      try {
        key = JSON.parse(text.slice(start, i)) as string;
      } catch {
        return undefined;
      }
      ws();
      if (text[i] !== ':') return undefined;
      i++;
      ws();
      if (key === seg) found = { i, line };
      skipValue();
      ws();
      if (text[i] !== ',') break;
      i++;
    }
    if (!found) return undefined;
    ({ i, line } = found);
  }
  ws();
  return i < n || path.length === 0 ? line : undefined;
}

/** Parses JSON text (depth-checked first); duplicate keys are reported, lines found on demand. */
export function parseJsonDocument(text: string, file: string, maxDepth = MAX_NESTING_DEPTH): JsonDocument {
  assertJsonDepth(text, file, maxDepth);
  const r = new JsonReader(text, file);
  const value = r.value();
  r.ws();
  if (r.pos < text.length) r.fail(`unexpected ${JSON.stringify(text[r.pos])} after the value`);
  return {
    file,
    value,
    lineOf: (p) => locateJsonLine(text, typeof p === 'string' ? parsePath(p) : p),
    duplicates: r.duplicates,
  };
}

/** Parses JSON as Python (and other ML tools) write it; errors name the file. */
export function parsePythonJson(text: string, file: string): unknown {
  return parseJsonDocument(text, file).value;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * What a JSON value means where a number is expected: a number; a numeric string ("0.98",
 * "98.9%"); a non-finite spelling as a string ("NaN", "nan", "inf", "-Infinity"); `null`
 * (JavaScript's JSON.stringify and pandas write NaN/Infinity as null) as "missing".
 */
export function numericValue(
  v: unknown,
): { value: number; written: string } | { missing: true; written: string } | null {
  if (typeof v === 'number') return { value: v, written: String(v) };
  if (v === null) return { missing: true, written: 'null' };
  if (typeof v !== 'string') return null;
  const s = v.trim();
  const word = NON_FINITE_WORDS.find(([w]) => w.toLowerCase() === s.toLowerCase());
  if (word) return { value: word[1], written: JSON.stringify(v) };
  if (/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?$/.test(s))
    return { value: Number(s.replace('%', '')), written: JSON.stringify(v) };
  return null;
}

/**
 * Finds the shallowest key (then by preference order) holding a number; returns its dotted path.
 * Shallow first, so a top-level `best_val_acc` wins over a nested `last_epoch.val_acc`.
 */
export function findNumber(
  obj: unknown,
  keys: readonly string[],
  maxDepth = 4,
): { path: string; value: number } | null {
  const wanted = keys.map((k) => k.toLowerCase());
  let level: { node: unknown; prefix: string }[] = [{ node: obj, prefix: '' }];
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    const fields = level.flatMap(({ node, prefix }) =>
      isRecord(node) ? Object.entries(node).map(([k, v]) => ({ k, lower: k.toLowerCase(), v, prefix })) : [],
    );
    for (const key of wanted) {
      for (const f of fields)
        if (f.lower === key && typeof f.v === 'number') return { path: f.prefix + f.k, value: f.v };
    }
    level = fields
      .filter((f) => isRecord(f.v) && f.lower !== 'history' && f.lower !== 'per_class')
      .map((f) => ({ node: f.v, prefix: `${f.prefix}${f.k}.` }));
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Metrics by meaning: every number in the document is classified by the words of its key and
// of the keys above it (split, metric, averaging, best/last epoch), and histories are read as
// series (lists of numbers under a metric key, or lists of per-epoch records).

export type MetricSplit = 'train' | 'val' | 'test';
export type MetricKind = 'accuracy' | 'f1' | 'precision' | 'recall' | 'loss';
export type MetricEpoch = 'best' | 'last';

export interface JsonMetric {
  path: string;
  segments: JsonPath;
  /** Filled for the values an answer names (lines are found on demand, see JsonDocument.lineOf). */
  line?: number | undefined;
  split: MetricSplit | null;
  kind: MetricKind;
  /** best / last epoch, from the key words or the position in a history. */
  epoch: MetricEpoch | null;
  average: 'macro' | 'weighted' | 'micro' | null;
  /** Inside a per-class breakdown (then not an overall value). */
  perClass: boolean;
  /** Element of a history series. */
  history: boolean;
  value: number | null;
  written: string;
  /** On the last element of a history: the history (`history.train_loss`, `history[].train_loss`) and its length. */
  series?: { path: string; length: number };
}

const wordCache = new Map<string, string[]>();
function words(key: string): string[] {
  const hit = wordCache.get(key);
  if (hit) return hit;
  const w = splitWords(key);
  if (wordCache.size < 10_000) wordCache.set(key, w);
  return w;
}

function splitWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const SPLIT_WORDS: Record<string, MetricSplit> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  dev: 'val',
  eval: 'val',
  test: 'test',
  testing: 'test',
  holdout: 'test',
};
const KIND_WORDS: Record<string, MetricKind> = {
  acc: 'accuracy',
  accuracy: 'accuracy',
  top1: 'accuracy',
  f1: 'f1',
  f1score: 'f1',
  precision: 'precision',
  prec: 'precision',
  recall: 'recall',
  loss: 'loss',
};
const HISTORY_WORDS = new Set([
  'history',
  'histories',
  'epochs',
  'per_epoch',
  'log',
  'logs',
  'log_history',
  'curve',
  'curves',
]);
const NOT_METRIC_WORDS = new Set([
  'support',
  'count',
  'samples',
  'num',
  'n',
  'epoch',
  'epochs',
  'step',
  'steps',
  'time',
  'runtime',
  'seconds',
  'lr',
  'threshold',
  'target',
]);
const PER_CLASS_WORDS = new Set(['per', 'class', 'classes', 'per_class', 'by_class', 'classwise']);

interface Context {
  /** A metric named by a key above (`"f1": {"macro": …}`). */
  kind: MetricKind | null;
  split: MetricSplit | null;
  epoch: MetricEpoch | null;
  average: JsonMetric['average'];
  perClass: boolean;
  history: boolean;
}

function classify(key: string, ctx: Context): { kind: MetricKind | null; ctx: Context } {
  const w = words(key);
  const next: Context = { ...ctx };
  let kind: MetricKind | null = null;
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!;
    if (SPLIT_WORDS[x]) next.split = SPLIT_WORDS[x];
    else if (KIND_WORDS[x]) kind = KIND_WORDS[x];
    else if (x === 'f' && w[i + 1] === '1') {
      kind = 'f1';
      i++;
    } else if (x === 'best') next.epoch = 'best';
    else if (x === 'last' || x === 'final') next.epoch = 'last';
    else if (x === 'macro' || x === 'weighted' || x === 'micro') next.average = x;
    else if (x === 'class' || x === 'classes' || x === 'classwise') next.perClass = true;
  }
  if (HISTORY_WORDS.has(key.toLowerCase())) next.history = true;
  if (PER_CLASS_WORDS.has(key.toLowerCase())) next.perClass = true;
  if (kind) next.kind = kind;
  // Counts, steps and times under a metric key ("f1": {"support": 36}) are not that metric.
  if (!kind && w.some((x) => NOT_METRIC_WORDS.has(x))) return { kind: null, ctx: next };
  return { kind: kind ?? ctx.kind, ctx: next };
}

/** Non-finite or missing values reported per history, at most. */
const MAX_BAD_PER_SERIES = 10;

const isBad = (n: { value: number } | { missing: true }): boolean => !('value' in n) || !Number.isFinite(n.value);

/**
 * Every metric-like number in a JSON document, classified. Histories are summarised: their last
 * element (with the history's length) and their non-finite or missing elements (the first 10),
 * so a file of millions of numbers yields a handful of entries.
 */
export function jsonMetrics(doc: JsonDocument): JsonMetric[] {
  const out: JsonMetric[] = [];
  const push = (
    segments: JsonPath,
    kind: MetricKind,
    ctx: Context,
    n: { value: number; written: string } | { missing: true; written: string },
    series?: JsonMetric['series'],
  ): void => {
    out.push({
      path: formatPath(segments),
      segments,
      split: ctx.split,
      kind,
      epoch: ctx.epoch,
      average: ctx.average,
      perClass: ctx.perClass,
      history: ctx.history,
      value: 'value' in n ? n.value : null,
      written: n.written,
      ...(series ? { series } : {}),
    });
  };
  const pattern = (segs: JsonPath) =>
    formatPath(segs.map((x) => (typeof x === 'number' ? -1 : x))).replace(/\[-1\]/g, '[]');
  /** onlyBad: inside a history element other than the last, only bad values are kept. */
  const walk = (
    node: unknown,
    segs: JsonPath,
    ctx: Context,
    depth: number,
    onlyBad: boolean,
    records: number,
  ): void => {
    if (depth > MAX_NESTING_DEPTH) return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        const last = i === node.length - 1;
        walk(
          item,
          [...segs, i],
          { ...ctx, history: true, epoch: last && ctx.epoch === null ? 'last' : ctx.epoch },
          depth + 1,
          onlyBad || !last,
          node.length,
        );
      });
      return;
    }
    if (!isRecord(node)) return;
    for (const [k, v] of Object.entries(node)) {
      const p = [...segs, k];
      const { kind, ctx: c } = classify(k, ctx);
      if (kind && Array.isArray(v) && v.every((x) => !isRecord(x) && !Array.isArray(x))) {
        // A series: list of numbers under a metric key; the last element is the last epoch's.
        let bad = 0;
        v.forEach((x, i) => {
          const n = numericValue(x);
          if (!n) return;
          const last = i === v.length - 1;
          if (last && !onlyBad)
            push([...p, i], kind, { ...c, history: true, epoch: c.epoch ?? 'last' }, n, {
              path: pattern(p),
              length: v.length,
            });
          else if (isBad(n) && bad++ < MAX_BAD_PER_SERIES) push([...p, i], kind, { ...c, history: true }, n);
        });
      } else if (kind && !isRecord(v) && !Array.isArray(v)) {
        const n = numericValue(v);
        if (n && (!onlyBad || isBad(n)))
          push(
            p,
            kind,
            c,
            n,
            ctx.history && !onlyBad && records > 1 ? { path: pattern(p), length: records } : undefined,
          );
      } else walk(v, p, c, depth + 1, onlyBad, records);
    }
  };
  walk(
    doc.value,
    [],
    { kind: null, split: null, epoch: null, average: null, perClass: false, history: false },
    0,
    false,
    0,
  );
  return out;
}

export interface MetricQuery {
  split: MetricSplit;
  kind: MetricKind;
  /** Which epoch is wanted: best (the checkpoint's), last, or either when they agree. */
  epoch?: MetricEpoch;
}

export type MetricAnswer = { found: JsonMetric } | { ambiguous: string } | null;

function sameNumber(a: number, b: number): boolean {
  const eq = (x: number, y: number) => Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  return eq(a, b) || eq(a * 100, b) || eq(a, b * 100);
}

const withLine = (doc: JsonDocument, m: JsonMetric): JsonMetric => ({ ...m, line: doc.lineOf(m.segments) });
const where = (doc: JsonDocument, m: JsonMetric): string =>
  `${doc.file}:${doc.lineOf(m.segments) ?? '?'} ${m.path} = ${m.written}`;

/**
 * One overall metric (not per-class, not a history element unless nothing else says it) by
 * meaning. When several keys could be meant and disagree — or a key is written twice — the
 * answer is `ambiguous`, naming each source; never a guess.
 */
export function findJsonMetric(doc: JsonDocument, q: MetricQuery): MetricAnswer {
  const all = jsonMetrics(doc).filter((m) => m.kind === q.kind && m.split === q.split && !m.perClass);
  const dup = doc.duplicates.find((d) => all.some((m) => m.path === d.path));
  if (dup)
    return {
      ambiguous: `ambiguous: ${dup.path} is written twice in ${doc.file} (lines ${dup.lines[0]} and ${dup.lines[1]})`,
    };
  const overall = (ms: JsonMetric[]) => {
    const plain = ms.filter((m) => m.average === null || m.average === 'macro');
    return plain.length ? plain : ms;
  };
  const scalars = overall(all.filter((m) => !m.history));
  const pick = (ms: JsonMetric[]): MetricAnswer => {
    if (ms.length === 0) return null;
    const first = ms[0]!;
    const other = ms
      .slice(1)
      .find((m) =>
        m.value === null || first.value === null
          ? m.value !== first.value
          : !(sameNumber(m.value, first.value) || (Number.isNaN(m.value) && Number.isNaN(first.value))),
      );
    if (other)
      return {
        ambiguous: `ambiguous: ${q.split} ${q.kind}${q.epoch ? ` (${q.epoch} epoch)` : ''} is written differently in ${where(doc, first)} and ${where(doc, other)}`,
      };
    return { found: withLine(doc, first) };
  };
  if (q.epoch) {
    const explicit = pick(scalars.filter((m) => m.epoch === q.epoch));
    if (explicit) return explicit;
    const unqualified = scalars.filter((m) => m.epoch === null);
    if (unqualified.length) return pick(unqualified);
    const ends = overall(all.filter((m) => m.history && m.epoch === 'last' && m.series));
    if (q.epoch === 'last') return pick(ends);
    return bestFromHistory(doc, ends, q);
  }
  return pick(scalars);
}

function valueAt(root: unknown, path: JsonPath): unknown {
  let node = root;
  for (const seg of path) {
    if (typeof seg === 'number' ? !Array.isArray(node) : !isRecord(node)) return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

const isEpochNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * How a plain history list of `length` values numbers its epochs, when the document itself says
 * so: an `epoch`/`epochs` list of integers beside it (index i is epoch list[i]), or the last
 * epoch's number written as `last_epoch`/`final_epoch` (a number, or a record's `epoch` field):
 * `length` means counting from 1, `length − 1` from 0. Null when nothing in the document tells.
 */
function epochNumbering(doc: JsonDocument, seriesParent: JsonPath, length: number): ((index: number) => number) | null {
  const parent = valueAt(doc.value, seriesParent);
  if (isRecord(parent)) {
    for (const key of ['epoch', 'epochs']) {
      const list = parent[key];
      if (Array.isArray(list) && list.length === length && list.every(isEpochNumber)) return (i) => list[i] as number;
    }
  }
  if (!isRecord(doc.value)) return null;
  const bases = new Set<number>();
  for (const [k, v] of Object.entries(doc.value)) {
    if (!/^(?:last|final)[_-]?epoch$/i.test(k)) continue;
    const n = isEpochNumber(v) ? v : isRecord(v) && isEpochNumber(v.epoch) ? v.epoch : null;
    if (n === length) bases.add(1);
    else if (n === length - 1) bases.add(0);
  }
  if (bases.size !== 1) return null;
  const base = [...bases][0]!;
  return (i) => i + base;
}

/**
 * The best epoch's value read from a history, when the document names the best epoch
 * (`best_epoch`). Per-epoch records are matched by their `epoch` field. For a plain list the
 * epoch may count from 0 or 1: the document's own epoch numbers decide (epochNumbering); without
 * them, when both readings exist and differ, the answer is ambiguous.
 */
function bestFromHistory(doc: JsonDocument, ends: readonly JsonMetric[], q: MetricQuery): MetricAnswer {
  if (ends.length === 0 || !isRecord(doc.value)) return null;
  const bestKeys = Object.entries(doc.value).filter(
    ([k, v]) => /^best[_-]?epoch$/i.test(k) && typeof v === 'number' && Number.isInteger(v),
  );
  if (bestKeys.length === 0) return null;
  const best = bestKeys[0]![1] as number;
  const answers: JsonMetric[] = [];
  for (const end of ends) {
    const segs = end.segments;
    const recordIndex = segs.findLastIndex((x) => typeof x === 'number');
    const isRecords = recordIndex < segs.length - 1;
    const candidates: JsonPath[] = [];
    if (isRecords) {
      const list = valueAt(doc.value, segs.slice(0, recordIndex));
      if (Array.isArray(list)) {
        const i = list.findIndex((r) => isRecord(r) && r.epoch === best);
        if (i >= 0) candidates.push([...segs.slice(0, recordIndex), i, ...segs.slice(recordIndex + 1)]);
      }
    } else {
      const length = end.series!.length;
      const numbering = epochNumbering(doc, segs.slice(0, -2), length);
      if (numbering) {
        let i = 0;
        while (i < length && numbering(i) !== best) i++;
        if (i < length) candidates.push([...segs.slice(0, -1), i]);
      } else for (const i of [best - 1, best]) if (i >= 0 && i < length) candidates.push([...segs.slice(0, -1), i]);
    }
    const read = candidates.map((c) => ({ c, n: numericValue(valueAt(doc.value, c)) })).filter((x) => x.n);
    if (
      read.length === 2 &&
      'value' in read[0]!.n! &&
      'value' in read[1]!.n! &&
      !sameNumber(read[0]!.n.value, read[1]!.n.value)
    ) {
      return {
        ambiguous: `ambiguous: best_epoch ${best} in ${doc.file} may count from 1 or from 0: ${where(doc, { ...end, segments: read[0]!.c, path: formatPath(read[0]!.c), written: read[0]!.n!.written })} or ${formatPath(read[1]!.c)} = ${read[1]!.n!.written}`,
      };
    }
    const hit = read[0];
    if (hit)
      answers.push({
        ...end,
        segments: hit.c,
        path: formatPath(hit.c),
        epoch: 'best',
        value: 'value' in hit.n! ? hit.n.value : null,
        written: hit.n!.written,
      });
  }
  if (answers.length === 0) return null;
  const first = answers[0]!;
  const other = answers.find((m) => m.value === null || first.value === null || !sameNumber(m.value, first.value));
  if (other)
    return {
      ambiguous: `ambiguous: ${q.split} ${q.kind} (best epoch) is written differently in ${where(doc, first)} and ${where(doc, other)}`,
    };
  return { found: withLine(doc, first) };
}

/** Every loss number in a JSON document (scalars and histories), with path and line. */
export function jsonLosses(doc: JsonDocument): JsonMetric[] {
  return jsonMetrics(doc).filter((m) => m.kind === 'loss');
}

/** Every numeric array under keys containing "loss", with their dotted paths. */
export function lossSeries(obj: unknown, prefix = '', depth = 4): { path: string; values: unknown[] }[] {
  if (!isRecord(obj) || depth < 0) return [];
  const out: { path: string; values: unknown[] }[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix + k;
    if (Array.isArray(v) && /loss/i.test(k)) out.push({ path: p, values: v });
    else if (typeof v === 'number' && /loss/i.test(k)) out.push({ path: p, values: [v] });
    else if (isRecord(v)) out.push(...lossSeries(v, `${p}.`, depth - 1));
  }
  return out;
}
