/**
 * The document model every check reads markdown through. Parsed by micromark (CommonMark + GFM,
 * the grammar GitHub renders) into mdast, then shaped into a section tree:
 *
 * - sections of any heading level (ATX, setext, and a paragraph whose first line is only bold
 *   text, "**Known Issues:**"), each with its own blocks and its sub-sections as children, so a
 *   sub-heading keeps its own meaning ("### Resolved" under "## Known Issues");
 * - blocks: paragraphs split into source lines, lists (items with task-list state and nested
 *   blocks), GFM tables (header + rows), code blocks (pasted tool output, kept as data), HTML
 *   comments (recognised as empty), block quotes;
 * - every line, cell and row keeps its 1-based source line, so evidence can say `file:line`.
 *
 * Text is expected LF-normalised (RunArtifacts.readText does it); CRLF parses the same anyway.
 */

import type { Table as MdTable, Paragraph, PhrasingContent, RootContent } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';

export interface TextLine {
  /** Plain text of the line: markup removed, inline code kept, HTML comments dropped. */
  text: string;
  line: number;
}

export interface ListItem {
  /** Lines of the item's first paragraph. */
  lines: TextLine[];
  /** GFM task-list state: true for "- [x]", false for "- [ ]", null for a plain item. */
  checked: boolean | null;
  /** Everything after the first paragraph (nested lists, code, further paragraphs). */
  blocks: Block[];
  line: number;
}

export interface Table {
  headers: string[];
  rows: string[][];
  /** Line of the header row. */
  line: number;
  /** Line of each body row. */
  rowLines: number[];
}

export type Block =
  | { kind: 'paragraph'; lines: TextLine[]; line: number }
  | { kind: 'list'; items: ListItem[]; line: number }
  | { kind: 'table'; table: Table; line: number }
  | { kind: 'code'; lang: string | null; lines: TextLine[]; line: number }
  | { kind: 'comment'; line: number }
  | { kind: 'html'; lines: TextLine[]; line: number }
  | { kind: 'quote'; blocks: Block[]; line: number };

export interface Section {
  /** 0 for the document root, 1–6 for headings; a bold-line heading is one below its parent. */
  level: number;
  title: string;
  /** Line of the heading (0 for the root). */
  line: number;
  /** Line where the body starts (after a setext underline too). */
  bodyLine: number;
  /** The section's own blocks, sub-sections excluded. */
  blocks: Block[];
  children: Section[];
  parent: Section | null;
  /** Written as "**Title**" rather than a heading. */
  bold: boolean;
}

export interface MarkdownDocument {
  file: string;
  root: Section;
  /** Every section but the root, in document order. */
  sections: Section[];
  /** The source lines as written (index = line − 1), for quoting in evidence. */
  source: string[];
}

/** One line of content with the section it belongs to. */
export interface DocLine extends TextLine {
  section: Section;
  kind: 'text' | 'item' | 'code';
  /** The list item the line opens or belongs to. */
  item?: ListItem | undefined;
}

// ---------------------------------------------------------------------------------------------
// Inline text with line numbers

interface Segment {
  text: string;
  line: number;
  /** Index of the enclosing strong node, or -1. */
  strong: number;
}

function inlineSegments(
  nodes: readonly PhrasingContent[],
  out: Segment[],
  strong: number,
  counter: { n: number },
): void {
  for (const node of nodes) {
    const line = node.position?.start.line ?? 0;
    switch (node.type) {
      case 'text':
      case 'inlineCode': {
        node.value.split('\n').forEach((part, k) => {
          out.push({ text: part, line: line + k, strong });
        });
        break;
      }
      case 'strong':
        inlineSegments(node.children, out, counter.n++, counter);
        break;
      case 'emphasis':
      case 'delete':
      case 'link':
      case 'linkReference':
        inlineSegments(node.children, out, strong, counter);
        break;
      case 'image':
      case 'imageReference':
        if (node.alt) out.push({ text: node.alt, line, strong });
        break;
      case 'break':
        out.push({ text: '', line: line + 1, strong: -1 });
        break;
      default:
        // html (inline tags and comments), footnote references: not text.
        break;
    }
  }
}

interface InlineLine extends TextLine {
  /** The whole line is one bold span (optionally followed by a colon). */
  boldOnly: boolean;
}

function inlineLines(nodes: readonly PhrasingContent[]): InlineLine[] {
  const segs: Segment[] = [];
  inlineSegments(nodes, segs, -1, { n: 0 });
  const byLine = new Map<number, Segment[]>();
  for (const s of segs) {
    const list = byLine.get(s.line) ?? [];
    list.push(s);
    byLine.set(s.line, list);
  }
  return [...byLine.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([line, parts]) => {
      const text = parts
        .map((p) => p.text)
        .join('')
        .replace(/\s+/g, ' ')
        .trim();
      const content = parts.filter((p) => p.text.trim() !== '' && !/^\s*:\s*$/.test(p.text));
      const strongs = new Set(content.map((p) => p.strong));
      const boldOnly = content.length > 0 && strongs.size === 1 && !strongs.has(-1);
      return { text, line, boldOnly };
    })
    .filter((l) => l.text !== '');
}

function cellText(nodes: readonly PhrasingContent[]): string {
  return inlineLines(nodes)
    .map((l) => l.text)
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// Blocks

function tableOf(node: MdTable): Table {
  const [head, ...body] = node.children;
  return {
    headers: head ? head.children.map((c) => cellText(c.children)) : [],
    rows: body.map((r) => r.children.map((c) => cellText(c.children))),
    line: node.position?.start.line ?? 0,
    rowLines: body.map((r) => r.position?.start.line ?? 0),
  };
}

const isComment = (html: string) => /^\s*<!--[\s\S]*-->\s*$/.test(html);

function codeLines(value: string, first: number): TextLine[] {
  return value.split('\n').map((text, k) => ({ text, line: first + k }));
}

function blockOf(node: RootContent, source: string): Block | null {
  const line = node.position?.start.line ?? 0;
  switch (node.type) {
    case 'paragraph':
      return {
        kind: 'paragraph',
        lines: inlineLines(node.children).map(({ text, line: l }) => ({ text, line: l })),
        line,
      };
    case 'list':
      return {
        kind: 'list',
        line,
        items: node.children.map((item) => {
          const [first, ...rest] = item.children;
          const lines =
            first?.type === 'paragraph'
              ? inlineLines(first.children).map(({ text, line: l }) => ({ text, line: l }))
              : [];
          const others = first?.type === 'paragraph' ? rest : item.children;
          return {
            lines,
            checked: item.checked ?? null,
            blocks: others.map((c) => blockOf(c, source)).filter((b): b is Block => b !== null),
            line: item.position?.start.line ?? line,
          };
        }),
      };
    case 'table':
      return { kind: 'table', table: tableOf(node), line };
    case 'code': {
      // A fenced block's content starts on the line after the fence; an indented one on its own line.
      const fenced = /^[ \t]*(?:```|~~~)/.test(
        source.slice(node.position?.start.offset ?? 0, (node.position?.start.offset ?? 0) + 8),
      );
      return {
        kind: 'code',
        lang: node.lang ?? null,
        lines: node.value === '' ? [] : codeLines(node.value, fenced ? line + 1 : line),
        line,
      };
    }
    case 'html':
      if (isComment(node.value)) return { kind: 'comment', line };
      return {
        kind: 'html',
        line,
        lines: node.value
          .replace(/<!--[\s\S]*?-->/g, '')
          .split('\n')
          .map((t, k) => ({ text: t.replace(/<[^>]*>/g, '').trim(), line: line + k }))
          .filter((l) => l.text !== ''),
      };
    case 'blockquote':
      return {
        kind: 'quote',
        line,
        blocks: node.children.map((c) => blockOf(c, source)).filter((b): b is Block => b !== null),
      };
    default:
      // thematic breaks, definitions, footnote definitions: no content of their own.
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Section tree

function newSection(
  level: number,
  title: string,
  line: number,
  bodyLine: number,
  parent: Section | null,
  bold: boolean,
): Section {
  return { level, title, line, bodyLine, blocks: [], children: [], parent, bold };
}

/** Parses markdown into the section tree. `file` is the run-relative path used in evidence. */
export function parseMarkdown(text: string, file: string): MarkdownDocument {
  const tree = fromMarkdown(text, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  const root = newSection(0, '', 0, 1, null, false);
  const sections: Section[] = [];
  const stack: Section[] = [root];
  const top = () => stack[stack.length - 1]!;
  const open = (s: Section) => {
    while (top() !== root && top().level >= s.level) stack.pop();
    s.parent = top();
    top().children.push(s);
    stack.push(s);
    sections.push(s);
  };

  tree.children.forEach((node, k) => {
    const next = tree.children[k + 1];
    if (node.type === 'heading') {
      const title = cellText(node.children).replace(/\s*:\s*$/, '');
      const start = node.position?.start.line ?? 0;
      const end = node.position?.end.line ?? start;
      // A setext heading's underline is the heading's last line.
      open(newSection(node.depth, title, start, end + 1, null, false));
      return;
    }
    if (node.type === 'paragraph') {
      const lines = inlineLines((node as Paragraph).children);
      const first = lines[0];
      // A bold line is a heading when something follows it and it is not a value ("**Test Accuracy: 99.2%**").
      const followed = lines.length > 1 || (next !== undefined && next.type !== 'heading');
      const value = first ? splitLabeled(first.text.replace(/\s*:\s*$/, '')) : null;
      if (first?.boldOnly && first.text.length <= 80 && followed && !(value && /\d/.test(value.value))) {
        // A bold-only first line is a heading one level below the nearest real heading.
        while (top() !== root && top().bold) stack.pop();
        const rest = lines.slice(1);
        open(
          newSection(
            top().level + 1,
            first.text.replace(/\s*:\s*$/, ''),
            first.line,
            rest[0]?.line ?? first.line + 1,
            null,
            true,
          ),
        );
        if (rest.length)
          top().blocks.push({
            kind: 'paragraph',
            lines: rest.map(({ text: t, line }) => ({ text: t, line })),
            line: rest[0]!.line,
          });
        return;
      }
    }
    const block = blockOf(node, text);
    if (block) top().blocks.push(block);
  });
  return { file, root, sections, source: text.split(/\r?\n/) };
}

// ---------------------------------------------------------------------------------------------
// Reading the tree

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

/** The words of `want` appear in `title` in the same order, others between them ("monitoring and alerting recommendation"). */
function hasWordsInOrder(title: string, want: string): boolean {
  const words = title.split(' ');
  let k = 0;
  for (const w of want.split(' ')) {
    while (k < words.length && words[k] !== w) k++;
    if (k++ >= words.length) return false;
  }
  return true;
}

/**
 * Sections whose title is `name` (numbering, case, punctuation and plurals ignored); when none is
 * exact, those whose title contains it as whole words; when none does, those whose title has its
 * words in order with others between ("Monitoring & Alerting Recommendations"). Document order.
 */
export function findSections(doc: MarkdownDocument, name: string): Section[] {
  const want = normalizeTitle(name);
  const titles = doc.sections.map((s) => ({ s, t: normalizeTitle(s.title) }));
  const exact = titles.filter((x) => x.t === want);
  if (exact.length) return exact.map((x) => x.s);
  const contains = titles.filter((x) => ` ${x.t} `.includes(` ${want} `));
  if (contains.length) return contains.map((x) => x.s);
  return titles.filter((x) => want !== '' && hasWordsInOrder(x.t, want)).map((x) => x.s);
}

export function findSection(doc: MarkdownDocument, name: string): Section | undefined {
  return findSections(doc, name)[0];
}

/** The section and its sub-sections, depth first. */
export function descendants(section: Section): Section[] {
  return [section, ...section.children.flatMap(descendants)];
}

/** Titles from the outermost heading down to `section`. */
export function titlePath(section: Section): string[] {
  const out: string[] = [];
  for (let s: Section | null = section; s && s.level > 0; s = s.parent) out.unshift(s.title);
  return out;
}

function blockLines(blocks: readonly Block[], section: Section, out: DocLine[], item?: ListItem): void {
  for (const b of blocks) {
    switch (b.kind) {
      case 'paragraph':
      case 'html':
        for (const l of b.lines) out.push({ ...l, section, kind: item ? 'item' : 'text', item });
        break;
      case 'code':
        for (const l of b.lines) out.push({ ...l, section, kind: 'code', item });
        break;
      case 'list':
        for (const it of b.items) {
          for (const l of it.lines) out.push({ ...l, section, kind: 'item', item: it });
          blockLines(it.blocks, section, out, it);
        }
        break;
      case 'quote':
        blockLines(b.blocks, section, out, item);
        break;
      default:
        break;
    }
  }
}

/** Text lines of a section (its sub-sections too when `deep`), with their sections. Tables are read separately. */
export function sectionLines(section: Section, deep = true): DocLine[] {
  const out: DocLine[] = [];
  for (const s of deep ? descendants(section) : [section]) blockLines(s.blocks, s, out);
  return out.sort((a, b) => a.line - b.line);
}

function blockTables(blocks: readonly Block[], out: Table[]): void {
  for (const b of blocks) {
    if (b.kind === 'table') out.push(b.table);
    else if (b.kind === 'quote') blockTables(b.blocks, out);
    else if (b.kind === 'list') for (const it of b.items) blockTables(it.blocks, out);
  }
}

/** Tables of a section (sub-sections too when `deep`), each with the section it is in. */
export function sectionTables(section: Section, deep = true): { table: Table; section: Section }[] {
  const out: { table: Table; section: Section }[] = [];
  for (const s of deep ? descendants(section) : [section]) {
    const tables: Table[] = [];
    blockTables(s.blocks, tables);
    for (const table of tables) out.push({ table, section: s });
  }
  return out;
}

/** Text lines and table rows (cells joined by `join`) of a section and its sub-sections, in line order. */
export function linesAndRows(section: Section, join = ' | '): TextLine[] {
  return [
    ...sectionLines(section).map((l) => ({ text: l.text, line: l.line })),
    ...sectionTables(section).flatMap(({ table }) =>
      table.rows.map((r, k) => ({ text: r.join(join), line: table.rowLines[k] ?? table.line })),
    ),
  ].sort((a, b) => a.line - b.line);
}

/** Code blocks of a section (sub-sections too when `deep`). */
export function sectionCode(
  section: Section,
  deep = true,
): { lang: string | null; lines: TextLine[]; line: number; section: Section }[] {
  const out: { lang: string | null; lines: TextLine[]; line: number; section: Section }[] = [];
  const walk = (blocks: readonly Block[], s: Section) => {
    for (const b of blocks) {
      if (b.kind === 'code') out.push({ lang: b.lang, lines: b.lines, line: b.line, section: s });
      else if (b.kind === 'quote') walk(b.blocks, s);
      else if (b.kind === 'list') for (const it of b.items) walk(it.blocks, s);
    }
  };
  for (const s of deep ? descendants(section) : [section]) walk(s.blocks, s);
  return out;
}

const countable = (s: string) => s.replace(/[\s*_#>|`~-]/g, '').length;

/**
 * Characters of real content in a section and its sub-sections: text, table cells and code;
 * not headings, markup, HTML comments or whitespace. A body of only comments is empty.
 */
export function contentLength(section: Section): number {
  // A bold line below the section is text its author wrote, even where it acts as a heading.
  let n = descendants(section)
    .filter((d) => d !== section && d.bold)
    .reduce((sum, d) => sum + countable(d.title), 0);
  for (const l of sectionLines(section)) n += countable(l.text);
  for (const { table } of sectionTables(section)) {
    for (const cell of [...table.headers, ...table.rows.flat()]) n += countable(cell);
  }
  return n;
}

/** A source line as written, trimmed (for quoting in evidence). */
export function sourceLine(doc: MarkdownDocument, line: number): string {
  return (doc.source[line - 1] ?? '').trim();
}

/** Strips markdown emphasis and code marks from a cell or label. */
export function plain(s: string): string {
  return s.replace(/[*_`]/g, '').replace(/\s+/g, ' ').trim();
}

/** "Label: value", "Label = value", "Label - value", "Label → value" on one line. */
export function splitLabeled(text: string): { label: string; value: string } | null {
  const m = /^(.{1,80}?)\s*(?::|=|\s-\s|→)\s*(.+)$/.exec(text);
  return m ? { label: m[1]!.trim(), value: m[2]!.trim() } : null;
}
