import { defineCheck, fail, pass } from './define.js';
import { findSection, parseSections, parseTables, plain } from '../parse/markdown.js';

/** A critical item is open unless its status says it is gone; "mitigated" is still open. */
const CLOSED = /\b(closed|resolved|fixed|done|won'?t fix|wontfix|not a bug|invalid|duplicate)\b/i;
const OPEN = /\b(open|active|in progress|investigating|unresolved|todo|new|blocked|pending)\b/i;
const NONE = /\b(no known (?:critical )?issues|none(?: known| identified)?\.?$|no open issues)\b/i;

export interface KnownIssue {
  severity: string | null;
  status: string | null;
  text: string;
  line: number;
}

function severityOf(text: string, blocking: readonly string[]): string | null {
  const all = [...new Set([...blocking, 'P0', 'P1', 'P2', 'P3', 'P4'])];
  for (const s of all) if (new RegExp(`\\b${s}\\b`, 'i').test(text)) return s.toUpperCase();
  if (/\b(critical|blocker)\b/i.test(text)) return 'critical';
  return null;
}

/** `firstLine` is the 1-based file line of the body's first line (Section.bodyLine). */
export function parseKnownIssues(body: string, firstLine: number, blocking: readonly string[]): KnownIssue[] {
  const issues: KnownIssue[] = [];
  const tables = parseTables(body);
  for (const t of tables) {
    const sev = t.headers.findIndex((h) => /severity|priority|sev\b|^p$/i.test(plain(h)));
    const st = t.headers.findIndex((h) => /status|state/i.test(plain(h)));
    t.rows.forEach((r, k) => {
      const text = r.map(plain).join(' | ');
      issues.push({
        severity: sev >= 0 ? severityOf(r[sev] ?? '', blocking) : severityOf(text, blocking),
        status: st >= 0 ? plain(r[st] ?? '') : null,
        text,
        // t.line is the header's 1-based line within the body; the delimiter row follows, then the rows.
        line: firstLine + t.line + 1 + k,
      });
    });
  }
  // List items count too, also next to a table (a P0 written under the table is still a P0).
  {
    body.split('\n').forEach((l, k) => {
      const item = /^\s*(?:[-*+]|\d+[.)])\s+(.*)$/.exec(l);
      if (!item) return;
      const text = plain(item[1]!);
      issues.push({ severity: severityOf(text, blocking), status: CLOSED.test(text) ? 'closed' : OPEN.test(text) ? 'open' : null, text, line: firstLine + k });
    });
  }
  return issues;
}

export const check = defineCheck({
  id: 'qa.known_issues',
  category: 'qa',
  title: 'No known critical issues or bugs',
  heavy: false,
  remediation: 'Identify and document all known issues, assess severity, determine if blocking deployment. No P0/P1 bugs may be open in model or inference code; document workarounds.',
  async run({ run, policy }) {
    const rel = policy.paths.final_report;
    if (!(await run.exists(rel))) return fail([`${rel} not found`]);
    const section = findSection(parseSections(await run.readText(rel, policy.limits.max_text_bytes)), 'Known Issues');
    if (!section) return fail([`${rel} has no "Known Issues" section: known issues are not documented`]);
    const blocking = policy.qa.blocking_severities.map((s) => s.toUpperCase());
    const issues = parseKnownIssues(section.body, section.bodyLine, blocking);
    const critical = issues.filter((i) => i.severity !== null && (blocking.includes(i.severity) || i.severity === 'critical'));
    const open = critical.filter((i) => !(i.status && CLOSED.test(i.status)));
    const metrics = { issues: issues.length, critical: critical.length, open_critical: open.length };
    if (open.length) {
      return fail(open.map((i) => `open ${i.severity} issue (${rel}:${i.line}): ${i.text.slice(0, 200)}`), metrics);
    }
    if (issues.length === 0 && !NONE.test(section.body.trim()) && section.body.trim().length < 10) {
      return fail([`${rel} "Known Issues" section is empty: write the known issues or "No known issues"`], metrics);
    }
    return pass(
      [`${rel} "${section.title}" (line ${section.line}): ${issues.length} issue(s) documented, none open at ${blocking.join('/')}${critical.length ? ` (${critical.length} closed)` : ''}`],
      metrics,
    );
  },
});
