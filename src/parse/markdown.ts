/**
 * Tolerant markdown reading for documents people write by hand: headings of any level (ATX,
 * setext, or a line that is only bold text), pipe tables, "Label: value" lines. Text is expected
 * to be LF-normalised already (RunArtifacts.readText does it).
 */

export interface Section {
  level: number;
  title: string;
  /** 1-based line number of the heading. */
  line: number;
  /** Text from the heading to the next heading of the same or a higher level (subsections included). */
  body: string;
  /** 1-based line number of the body's first line (after a setext underline too). */
  bodyLine: number;
}

/** Lowercase, strip emoji/punctuation/numbering, singularise words: "## 3. Inference APIs:" → "inference api". */
export function normalizeTitle(s: string): string {
  return s
    .toLowerCase()
    .replace(/^\s*#{1,6}\s+/, '')
    .replace(/[*_`~]/g, '')
    .replace(/^\s*(?:\d+(?:\.\d+)*[.)]?|[ivx]+\.)\s+/, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(/\s+/)
    .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w))
    .join(' ');
}

interface HeadingLine {
  level: number;
  title: string;
  index: number;
  /** Lines the heading takes (2 for setext: the title and its underline). */
  span: number;
}

function headingLines(lines: string[]): HeadingLine[] {
  const out: HeadingLine[] = [];
  let fence: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fenceMatch = /^\s{0,3}(```+|~~~+)/.exec(line);
    if (fenceMatch) {
      const marker = fenceMatch[1]!.slice(0, 3);
      if (fence === null) fence = marker;
      else if (marker === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const atx = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (atx) {
      out.push({ level: atx[1]!.length, title: atx[2]!.trim(), index: i, span: 1 });
      continue;
    }
    const next = lines[i + 1];
    if (next !== undefined && line.trim() !== '' && !/^\s*[-*|>]/.test(line)) {
      if (/^\s{0,3}=+\s*$/.test(next)) {
        out.push({ level: 1, title: line.trim(), index: i, span: 2 });
        i++;
        continue;
      }
      if (/^\s{0,3}-{3,}\s*$/.test(next)) {
        out.push({ level: 2, title: line.trim(), index: i, span: 2 });
        i++;
        continue;
      }
    }
    // A line that is only bold text ("**Known Issues**" or "**Known Issues:**") acts as a heading.
    const bold = /^\s{0,3}\*\*([^*]{2,80}?):?\*\*:?\s*$/.exec(line);
    if (bold) out.push({ level: 4, title: bold[1]!.trim(), index: i, span: 1 });
  }
  return out;
}

export function parseSections(text: string): Section[] {
  const lines = text.split('\n');
  const heads = headingLines(lines);
  return heads.map((h, k) => {
    let end = lines.length;
    for (let j = k + 1; j < heads.length; j++) {
      if (heads[j]!.level <= h.level) {
        end = heads[j]!.index;
        break;
      }
    }
    return { level: h.level, title: h.title, line: h.index + 1, body: lines.slice(h.index + h.span, end).join('\n'), bodyLine: h.index + h.span + 1 };
  });
}

/** First section whose normalised title contains the normalised `name`. */
export function findSection(sections: readonly Section[], name: string): Section | undefined {
  const want = normalizeTitle(name);
  const exact = sections.find((s) => normalizeTitle(s.title) === want);
  if (exact) return exact;
  return sections.find((s) => ` ${normalizeTitle(s.title)} `.includes(` ${want} `));
}

/** Characters of real content: no headings, table rules, markup or whitespace. */
export function contentLength(body: string): number {
  return body
    .split('\n')
    .filter((l) => !/^\s{0,3}#{1,6}\s/.test(l))
    .join('\n')
    .replace(/\|?\s*:?-{3,}:?\s*\|?/g, '')
    .replace(/[\s*_#>|`-]/g, '').length;
}

export interface Table {
  headers: string[];
  rows: string[][];
  /** 1-based line of the header row. */
  line: number;
}

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

const DELIMITER_ROW = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

/** A table's delimiter row (`|---|:--:|`). */
function isDelimiterRow(line: string | undefined): boolean {
  return line !== undefined && line.includes('-') && DELIMITER_ROW.test(line);
}

/** Pipe tables (GitHub style: header row, delimiter row, body rows). */
export function parseTables(text: string): Table[] {
  const lines = text.split('\n');
  const tables: Table[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = lines[i]!;
    const delim = lines[i + 1]!;
    if (!head.includes('|') || !isDelimiterRow(delim)) continue;
    const headers = splitRow(head);
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (!l.includes('|') || l.trim() === '') break;
      rows.push(splitRow(l));
    }
    tables.push({ headers, rows, line: i + 1 });
    i = j - 1;
  }
  return tables;
}

/** Strips markdown emphasis and code marks from a cell or label. */
export function plain(s: string): string {
  return s.replace(/[*_`]/g, '').replace(/\s+/g, ' ').trim();
}

export interface LabeledValue {
  label: string;
  value: string;
  /** 1-based line number. */
  line: number;
}

/**
 * Finds "Label: value" / "Label = value" / "Label - value" lines and two-column table rows
 * whose label matches `label` (a regex over the plain label text).
 */
export function findLabeled(text: string, label: RegExp): LabeledValue[] {
  const out: LabeledValue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.includes('|')) {
      // A header row is column names, not "label | value" ("| Recall | F1 |" is not recall = 1).
      if (isDelimiterRow(raw) || isDelimiterRow(lines[i + 1])) continue;
      const cells = splitRow(raw).map(plain);
      for (let c = 0; c + 1 < cells.length; c++) {
        if (label.test(cells[c]!) && /\d/.test(cells[c + 1]!)) {
          out.push({ label: cells[c]!, value: cells[c + 1]!, line: i + 1 });
          break;
        }
      }
      continue;
    }
    const line = plain(raw.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, ''));
    const m = /^(.{1,80}?)\s*(?::|=|\s-\s|→)\s*(.+)$/.exec(line);
    if (m && label.test(m[1]!.trim())) out.push({ label: m[1]!.trim(), value: m[2]!.trim(), line: i + 1 });
  }
  return out;
}
