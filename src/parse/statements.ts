/**
 * Known issues and review records read as statements: each item (table row, list item, sentence,
 * or a sub-section of its own) with a severity, a status and negation. Status words are matched as
 * whole words; a mitigated issue or one with a workaround is still open; an explicit status (a
 * Status column, a "Status:" line, a task checkbox, a sub-heading such as "#### Resolved") wins
 * over words in the description; "No P0/P1 issues open." says something is absent, it is not an
 * issue. Every item keeps its line.
 */
import {
  type DocLine,
  descendants,
  type ListItem,
  type Section,
  sectionLines,
  sectionTables,
  splitLabeled,
  type Table,
} from './markdown.js';

export interface IssueItem {
  text: string;
  line: number;
  /** "P0".."P4", a policy severity, "critical", or another severity word as written ("High"). */
  severity: string | null;
  /** The severity is one the gate can rank (P-levels, policy severities, critical, low…). */
  severityKnown: boolean;
  status: 'open' | 'closed' | null;
  /** Words the status was read from, for evidence. */
  statusWords: string[];
  /** Open and closed signals both present with nothing explicit to decide. */
  conflict: string | null;
  /** Where the status came from. */
  statusFrom: 'column' | 'label' | 'checkbox' | 'heading' | 'text' | 'group' | null;
}

export interface NoneStatement {
  text: string;
  line: number;
  /** Severities it says none of are open (empty: "No known issues"). */
  severities: string[];
}

export interface IssueReading {
  items: IssueItem[];
  none: NoneStatement[];
}

const P_LEVEL = /\bP\s?([0-4])\b|\bsev(?:erity)?[- ]?([0-4])\b|\bpriority[- :]?([0-4])\b/gi;
const CRITICAL = /\b(critical|blocker|blocking|showstopper)\b/i;
const KNOWN_WORDS =
  /^(?:critical|blocker|blocking|showstopper|medium|moderate|minor|low|trivial|cosmetic|info|informational)$/i;
const SEVERITY_WORDS =
  /^(?:critical|blocker|blocking|showstopper|high|major|severe|urgent|medium|moderate|minor|low|trivial|cosmetic|info|informational)$/i;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Severities named in a text: P-levels (also "Sev 1", "Priority 1"), policy names, critical/blocker. */
export function severitiesIn(text: string, policySeverities: readonly string[]): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(P_LEVEL)) out.add(`P${m[1] ?? m[2] ?? m[3]}`);
  for (const s of policySeverities)
    if (!/^P[0-4]$/i.test(s) && new RegExp(`\\b${escapeRe(s)}\\b`, 'i').test(text)) out.add(s.toUpperCase());
  if (CRITICAL.test(text)) out.add('critical');
  return [...out];
}

/** A severity cell or "Severity:" value: a P-level, a policy name, or a severity word as written. */
function severityField(text: string, policySeverities: readonly string[]): { severity: string | null; known: boolean } {
  const named = severitiesIn(text, policySeverities);
  if (named.length) return { severity: mostSevere(named), known: true };
  const word = text.trim().replace(/[*_`]/g, '');
  if (SEVERITY_WORDS.test(word)) return { severity: word, known: KNOWN_WORDS.test(word) };
  return { severity: null, known: true };
}

function mostSevere(sevs: string[]): string {
  if (sevs.includes('critical')) return 'critical';
  return [...sevs].sort()[0]!;
}

// ---- status

/** Status words of an explicit field (a Status column, "Status:", a sub-heading). */
const FIELD_CLOSED =
  /\b(closed|resolved|fixed|done|complete|completed|not a bug|invalid|duplicate|obsolete|verified)\b/i;
const FIELD_OPEN =
  /\b(open|opened|reopened|re-opened|active|ongoing|in progress|investigating|under investigation|unresolved|unfixed|todo|new|blocked|pending|mitigated|mitigation|workaround|work-around|monitoring|accepted|acknowledged|triaged|deferred|backlog|planned|won'?t fix|wontfix|will not fix)\b/i;
/** "not fixed", "not yet resolved": a negated closing word is open. */
const NEGATED_CLOSED =
  /\b(?:not|never|isn'?t|wasn'?t|hasn'?t been|has not been|not yet)\s+(?:yet\s+|been\s+)?(fixed|resolved|closed|done)\b/gi;

/** In free text a closing word must read as a status, not as part of a description ("fixed input size"). */
const TEXT_CLOSED = [
  /\b(?:was|were|is|are|has been|have been|now|got)\s+(fixed|resolved|closed)\b/i,
  /\b(fixed|resolved|closed)\s+(?:in|by|on|with|via|since|as of)\b/i,
  // After a dash, bracket or comma ("— resolved", "(closed)"), not after the "P1:" label.
  /[-—–([,;]\s*(fixed|resolved|closed|done)\b/i,
  /\b(fixed|resolved|closed)\s*[.)\]]?\s*$/i,
  /\b(not a bug)\b/i,
];
const TEXT_OPEN = [
  /\b(reopened|re-opened|unresolved|unfixed|mitigated|mitigation|workaround|work-around|in progress|investigating|under investigation|won'?t fix|wontfix|will not fix)\b/i,
  /\b(?:still|remains?|is|currently|status)\s+(open|pending|active)\b/i,
  /[-—–([,;]\s*(open|pending|active|todo)\b/i,
  /\b(open|pending)\s*[.)\]]?\s*$/i,
];

interface StatusRead {
  status: 'open' | 'closed' | null;
  words: string[];
  conflict: string | null;
}

function firstHits(res: RegExp[], text: string): string[] {
  const out: string[] = [];
  for (const re of res) {
    const m = re.exec(text);
    if (m) out.push((m[1] ?? m[0]).toLowerCase());
  }
  return [...new Set(out)];
}

/** Status of an explicit field: whole words; open wins over closed only when it is the only one. */
export function statusOfField(text: string): StatusRead {
  const negated = [...text.matchAll(NEGATED_CLOSED)].map((m) => m[0].toLowerCase());
  const rest = text.replace(NEGATED_CLOSED, ' ');
  const open = [...negated, ...[...rest.matchAll(new RegExp(FIELD_OPEN.source, 'gi'))].map((m) => m[1]!.toLowerCase())];
  const closed = [...rest.matchAll(new RegExp(FIELD_CLOSED.source, 'gi'))].map((m) => m[1]!.toLowerCase());
  if (open.length && closed.length)
    return { status: null, words: [...closed, ...open], conflict: `"${closed[0]}" and "${open[0]}"` };
  if (closed.length) return { status: 'closed', words: closed, conflict: null };
  if (open.length) return { status: 'open', words: open, conflict: null };
  return { status: null, words: [], conflict: null };
}

/** Status read from a description: closing words only where they read as a status. */
export function statusOfText(text: string): StatusRead {
  const negated = [...text.matchAll(NEGATED_CLOSED)].map((m) => m[0].toLowerCase());
  const rest = text.replace(NEGATED_CLOSED, ' ');
  const open = [...negated, ...firstHits(TEXT_OPEN, rest)];
  const closed = firstHits(TEXT_CLOSED, rest);
  if (open.length && closed.length)
    return { status: null, words: [...closed, ...open], conflict: `"${closed[0]}" and "${open[0]}"` };
  if (closed.length) return { status: 'closed', words: closed, conflict: null };
  if (open.length) return { status: 'open', words: open, conflict: null };
  return { status: null, words: [], conflict: null };
}

// ---- negation

const SEV_LIST = String.raw`(?:P\s?[0-4]|sev(?:erity)?[- ]?[0-4]|critical|blocker|blocking)(?:\s*(?:\/|,|or|and|nor)\s*(?:P\s?[0-4]|sev(?:erity)?[- ]?[0-4]|critical|blocker|blocking))*`;
const NO_SEVERITY = new RegExp(
  String.raw`\b(?:no|zero|without any|not any)\s+(?:(?:open|known|outstanding|remaining|unresolved|active|new|other|further)\s+)*(${SEV_LIST})\b`,
  'i',
);
const SEVERITY_NONE = new RegExp(
  String.raw`\b(${SEV_LIST})\s*(?:(?:issues?|bugs?|open|known|items?)\s*)*[:=]\s*(?:none|0|no|n\/?a|nil|—|-)\s*(?:[.;,]|$)`,
  'i',
);
const NO_ISSUES =
  /^(?:there (?:are|were|is) )?(?:no|none|zero)\b(?:\s+(?:known|open|outstanding|remaining|critical|blocking|unresolved|other))*\s*(?:issues?|bugs?|problems?|defects?)?(?:\s+(?:are\s+)?(?:known|open|identified|found|reported|outstanding))?\s*[.!]?$|^(?:none|n\/a|nothing)(?:\s+(?:known|identified|to report|reported))?\s*[.!]?$/i;

/** "No P0/P1 issues open." → [P0, P1]; "P0: none" → [P0]; "No known issues." → []; otherwise null. */
export function negatedSeverities(text: string, policySeverities: readonly string[]): string[] | null {
  const t = text.trim();
  const m = NO_SEVERITY.exec(t) ?? SEVERITY_NONE.exec(t);
  if (m) return severitiesIn(m[1]!, policySeverities);
  if (NO_ISSUES.test(t)) return [];
  return null;
}

/** Sentences and ";"-clauses of a line ("P3: drops on noisy crops. No P0/P1 issues open."). */
export function clauses(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z0-9*_(["'])|;\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

// ---- reading a section

const SEVERITY_HEADER = /\b(?:severity|priority|sev|impact|level)\b|^p$/i;
const STATUS_HEADER = /\b(?:status|state|resolution|resolved|fixed)\b/i;
const COUNT_HEADER = /^(?:open|count|#|number|open issues|total|n)$/i;
const EMPTY_CELL = /^(?:none|n\/?a|nil|—|-|0|no)?$/i;

interface Context {
  policy: readonly string[];
  /** A status given by an enclosing grouping heading ("### Resolved"). */
  group: StatusRead | null;
}

function item(
  text: string,
  line: number,
  sev: { severity: string | null; known: boolean },
  status: StatusRead,
  from: IssueItem['statusFrom'],
): IssueItem {
  return {
    text,
    line,
    severity: sev.severity,
    severityKnown: sev.known,
    status: status.status,
    statusWords: status.words,
    conflict: status.conflict,
    statusFrom: status.status || status.conflict ? from : null,
  };
}

function withGroup(
  status: StatusRead,
  from: IssueItem['statusFrom'],
  ctx: Context,
): [StatusRead, IssueItem['statusFrom']] {
  if (status.status || status.conflict || !ctx.group) return [status, from];
  return [ctx.group, 'group'];
}

function readTable(table: Table, ctx: Context, out: IssueReading): void {
  const sev = table.headers.findIndex((h) => SEVERITY_HEADER.test(h));
  const st = table.headers.findIndex((h) => STATUS_HEADER.test(h));
  const count = table.headers.findIndex((h) => COUNT_HEADER.test(h.trim()));
  table.rows.forEach((row, k) => {
    const line = table.rowLines[k] ?? table.line;
    const text = row.join(' | ');
    const severity =
      sev >= 0
        ? severityField(row[sev] ?? '', ctx.policy)
        : severityField(severitiesIn(text, ctx.policy).join(' '), ctx.policy);
    // A severity row whose other cells are empty ("| P0 | none |") or whose open count is 0 says none are open.
    const others = row.filter((_, c) => c !== sev);
    if (severity.severity && count >= 0 && /^\d+$/.test((row[count] ?? '').trim())) {
      if (Number(row[count]) === 0) out.none.push({ text, line, severities: [severity.severity] });
      else
        out.items.push(
          item(text, line, severity, { status: 'open', words: [`${row[count]} open`], conflict: null }, 'column'),
        );
      return;
    }
    if (severity.severity && others.every((c) => EMPTY_CELL.test(c.trim()))) {
      out.none.push({ text, line, severities: [severity.severity] });
      return;
    }
    const [status, from] =
      st >= 0 ? withGroup(statusOfField(row[st] ?? ''), 'column', ctx) : withGroup(statusOfText(text), 'text', ctx);
    out.items.push(item(text, line, severity, status, from));
  });
}

/** Status from "Status: …" lines among `lines` (the last one wins: later entries update earlier). */
function labelledStatus(lines: readonly { text: string }[]): StatusRead | null {
  let found: StatusRead | null = null;
  for (const l of lines) {
    const kv = splitLabeled(l.text);
    if (kv && /^(?:status|state|resolution)$/i.test(kv.label.replace(/[*_`]/g, '').trim()))
      found = statusOfField(kv.value);
  }
  return found;
}

function labelledSeverity(
  lines: readonly { text: string }[],
  policy: readonly string[],
): { severity: string | null; known: boolean } | null {
  for (const l of lines) {
    const kv = splitLabeled(l.text);
    if (kv && /^(?:severity|priority|sev|impact)$/i.test(kv.label.replace(/[*_`]/g, '').trim())) {
      const s = severityField(kv.value, policy);
      if (s.severity) return s;
    }
  }
  return null;
}

function readListItem(it: ListItem, lines: DocLine[], ctx: Context, out: IssueReading): void {
  const own = it.lines.map((l) => l.text).join(' ');
  const line = it.lines[0]?.line ?? it.line;
  const ownLines = new Set(it.lines.map((l) => l.line));
  const children = lines.filter((l) => !ownLines.has(l.line) && (l.item === it || isInside(l.item, it)));
  const neg = negatedSeverities(own, ctx.policy);
  if (neg !== null) {
    out.none.push({ text: own, line, severities: neg });
    return;
  }
  const sevs = severitiesIn(own, ctx.policy);
  const labelled =
    labelledSeverity(it.lines, ctx.policy) ??
    labelledSeverity(
      children.filter(
        (c) => severitiesIn(c.text, ctx.policy).length === 0 || /^\W*(?:severity|priority)/i.test(c.text),
      ),
      ctx.policy,
    );
  const severity = labelled ?? (sevs.length ? { severity: mostSevere(sevs), known: true } : null);
  if (!severity) {
    // Not an issue with a severity itself: its sentences may still be ("- Known: P1 crash …").
    for (const c of clauses(own)) readClause(c, line, ctx, out);
    return;
  }
  const explicit = labelledStatus([...it.lines, ...children]);
  let status: StatusRead;
  let from: IssueItem['statusFrom'];
  if (explicit && (explicit.status || explicit.conflict)) [status, from] = [explicit, 'label'];
  else if (it.checked !== null)
    [status, from] = [
      { status: it.checked ? 'closed' : 'open', words: [it.checked ? '[x]' : '[ ]'], conflict: null },
      'checkbox',
    ];
  else [status, from] = withGroup(statusOfText(own), 'text', ctx);
  out.items.push(item(own, line, severity, status, from));
}

function isInside(child: ListItem | undefined, parent: ListItem): boolean {
  if (!child) return false;
  const walk = (it: ListItem): boolean =>
    it.blocks.some((b) => b.kind === 'list' && b.items.some((x) => x === child || walk(x)));
  return walk(parent);
}

function readClause(text: string, line: number, ctx: Context, out: IssueReading): void {
  const neg = negatedSeverities(text, ctx.policy);
  if (neg !== null) {
    out.none.push({ text, line, severities: neg });
    return;
  }
  const sevs = severitiesIn(text, ctx.policy);
  if (!sevs.length) return;
  const [status, from] = withGroup(statusOfText(text), 'text', ctx);
  out.items.push(item(text, line, { severity: mostSevere(sevs), known: true }, status, from));
}

/** Lines and tables of one section (not its sub-sections), read as statements. */
function readOwn(section: Section, ctx: Context, out: IssueReading): void {
  const lines = sectionLines(section, false);
  const done = new Set<ListItem>();
  for (const l of lines) {
    if (l.item) {
      // Top-level items read themselves and their nested lines; nested items with their own severity too.
      if (done.has(l.item)) continue;
      done.add(l.item);
      if (l.item.lines[0]?.line === l.line) readListItem(l.item, lines, ctx, out);
      continue;
    }
    if (l.kind === 'code') continue;
    for (const c of clauses(l.text)) readClause(c, l.line, ctx, out);
  }
  for (const { table } of sectionTables(section, false)) readTable(table, ctx, out);
}

/** A sub-section that is one issue: its title or a "Severity:" line gives the severity. */
function readIssueSection(section: Section, ctx: Context, out: IssueReading): boolean {
  const own = sectionLines(section, false);
  const titleSevs = severitiesIn(section.title, ctx.policy);
  const severity = titleSevs.length
    ? { severity: mostSevere(titleSevs), known: true }
    : labelledSeverity(own, ctx.policy);
  if (!severity?.severity) return false;
  const neg = negatedSeverities(section.title, ctx.policy);
  if (neg !== null) {
    out.none.push({ text: section.title, line: section.line, severities: neg });
    return true;
  }
  // Status: a "Status:" line, else the last sub-heading that names one ("#### Resolved"), else the title.
  const label = labelledStatus(sectionLines(section, true));
  const heads = section.children.map((c) => statusOfField(c.title)).filter((s) => s.status || s.conflict);
  const title = statusOfText(section.title);
  let status: StatusRead;
  let from: IssueItem['statusFrom'];
  if (label && (label.status || label.conflict)) [status, from] = [label, 'label'];
  else if (heads.length) [status, from] = [heads[heads.length - 1]!, 'heading'];
  else [status, from] = withGroup(title, 'heading', ctx);
  out.items.push(item(section.title, section.line, severity, status, from));
  return true;
}

function readSection(section: Section, ctx: Context, out: IssueReading): void {
  for (const child of section.children) {
    if (readIssueSection(child, ctx, out)) continue;
    // A grouping heading ("### Resolved", "### Open issues") gives its items a status.
    const group = statusOfField(child.title);
    const childCtx = group.status ? { ...ctx, group } : ctx;
    readOwn(child, childCtx, out);
    readSection(child, childCtx, out);
  }
}

/** Reads a Known Issues section (with its sub-sections) as issue items and "none" statements. */
export function readIssues(section: Section, policySeverities: readonly string[]): IssueReading {
  const out: IssueReading = { items: [], none: [] };
  const ctx: Context = { policy: policySeverities, group: null };
  readOwn(section, ctx, out);
  readSection(section, ctx, out);
  out.items.sort((a, b) => a.line - b.line);
  out.none.sort((a, b) => a.line - b.line);
  return out;
}

// ---- review records

export interface ReviewStatement {
  text: string;
  line: number;
  /** The words that decided it. */
  phrase: string;
}

const REVIEW_NEGATED_NOT_DONE =
  /\bno (?:further |outstanding |open |remaining )?(?:changes requested|requested changes|pending (?:items?|changes|comments)|todos?|blocking (?:findings|issues|comments))\b|\bnothing (?:pending|outstanding|open)\b/gi;
const REVIEW_NOT_DONE =
  /\b(not (?:yet )?(?:been )?(?:reviewed|approved|signed off)|review (?:is )?pending|pending review|review (?:is )?in progress|awaiting (?:review|approval)|pending (?:approval|sign-off)|(?:approval|sign-off) (?:is )?pending|todo|tbd|to be done|not done|not started|changes requested|requested changes|needs changes|rejected|review (?:is )?(?:scheduled|planned))\b/i;
const REVIEW_DONE =
  /\b(reviewed (?:and (?:approved|merged) )?by|[1-9]\d* approvals?|approved|review (?:completed|complete|done|passed)|passed (?:code )?review|lgtm|signed off|sign-off given)\b/i;
const REVIEW_NOT_DONE_VALUE =
  /^(?:pending|open|todo|tbd|to do|n\/?a|none|-|—|in progress|not started|not done|blocked|rejected|changes requested|requested changes|awaiting[\w\s]*|scheduled[\w\s]*|planned[\w\s]*)[.!]?$/i;
const REVIEW_STATUS_LABEL =
  /^(?:status|outcome|result|decision|approval|approved by|review status|review|verdict|reviewer|reviewed by)$/i;

export interface ReviewReading {
  done: ReviewStatement[];
  notDone: ReviewStatement[];
}

/** Reads a Code Review section: statements that record a completed review and ones that say it is not done. */
export function readReview(section: Section): ReviewReading {
  const out: ReviewReading = { done: [], notDone: [] };
  const lines = [
    ...sectionLines(section)
      .filter((l) => l.kind !== 'code')
      .map((l) => ({ text: l.text, line: l.line })),
    ...sectionTables(section).flatMap(({ table }) =>
      table.rows.map((r, k) => ({
        text: table.headers.map((h, c) => `${h}: ${r[c] ?? ''}`).join('; '),
        line: table.rowLines[k]!,
      })),
    ),
    // Sub-heading titles are statements too ("### Approved by M. Okafor").
    ...descendants(section)
      .filter((d) => d !== section)
      .map((d) => ({ text: d.title, line: d.line })),
  ].sort((a, b) => a.line - b.line);
  for (const l of lines) {
    for (const c of clauses(l.text)) {
      const kv = splitLabeled(c);
      const label = kv?.label.replace(/[*_`]/g, '').trim() ?? '';
      // "Review status: pending" / "Reviewer: TBD": the value decides.
      if (kv && REVIEW_STATUS_LABEL.test(label) && REVIEW_NOT_DONE_VALUE.test(kv.value.trim())) {
        out.notDone.push({ text: l.text, line: l.line, phrase: `${label}: ${kv.value.trim()}`.toLowerCase() });
        continue;
      }
      const text = (kv && REVIEW_STATUS_LABEL.test(label) ? `${kv.label} ${kv.value}` : c).replace(
        REVIEW_NEGATED_NOT_DONE,
        ' ',
      );
      const not = REVIEW_NOT_DONE.exec(text);
      if (not) {
        out.notDone.push({ text: l.text, line: l.line, phrase: not[1]!.toLowerCase() });
        continue;
      }
      const done = REVIEW_DONE.exec(text);
      if (done) out.done.push({ text: l.text, line: l.line, phrase: done[1]!.toLowerCase() });
    }
  }
  return out;
}
