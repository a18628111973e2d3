import { contentLength, findSections, type Section } from '../parse/markdown.js';
import { AmbiguityError } from '../parse/metrics.js';
import { readMarkdown } from '../parse/run-docs.js';
import { type IssueItem, type NoneStatement, readIssues } from '../parse/statements.js';
import { defineCheck, fail, pass } from './define.js';

export const check = defineCheck({
  id: 'qa.known_issues',
  category: 'qa',
  title: 'No known critical issues or bugs',
  heavy: false,
  remediation:
    'Identify and document all known issues, assess severity, determine if blocking deployment. No P0/P1 bugs may be open in model or inference code; document workarounds.',
  async run({ run, policy }) {
    const rel = policy.paths.final_report;
    if (!(await run.exists(rel))) return fail([`${rel} not found`]);
    const sections = findSections(await readMarkdown(run, rel, policy), 'Known Issues');
    const section = sections[0];
    if (!section) return fail([`${rel} has no "Known Issues" section: known issues are not documented`]);
    const blocking = policy.qa.blocking_severities.map((s) => s.toUpperCase());
    const items: IssueItem[] = [];
    const none: NoneStatement[] = [];
    // Every section titled Known Issues counts (a report may have one per component).
    for (const s of sections.filter((s) => !sections.some((o) => o !== s && isAncestor(o, s)))) {
      const r = readIssues(s, blocking);
      items.push(...r.items);
      none.push(...r.none);
    }
    const at = (line: number) => `${rel}:${line}`;
    const isBlocking = (i: IssueItem) =>
      i.severity !== null && (blocking.includes(i.severity.toUpperCase()) || i.severity === 'critical');
    const critical = items.filter(isBlocking);
    const open = critical.filter((i) => i.status !== 'closed' && !i.conflict);
    const metrics = { issues: items.length, critical: critical.length, open_critical: open.length };
    if (open.length) {
      const said = none.filter(
        (n) => n.severities.length === 0 || n.severities.some((s) => open.some((o) => o.severity === s)),
      );
      return fail(
        [
          ...open.map(
            (i) =>
              `open ${i.severity} issue (${at(i.line)}): ${i.text.slice(0, 200)}${i.statusWords.some((w) => w !== 'open') ? ` (status: ${i.statusWords.join(', ')})` : ''}`,
          ),
          ...said.map((n) => `contradicted by "${n.text.slice(0, 120)}" (${at(n.line)})`),
        ],
        metrics,
      );
    }
    // Cannot tell: a blocking item whose status reads both ways, or an open item whose severity the policy does not rank.
    const unclear = [
      ...critical
        .filter((i) => i.conflict)
        .map((i) => `status of ${i.severity} issue (${at(i.line)}) reads both ${i.conflict}: ${i.text.slice(0, 160)}`),
      ...items
        .filter((i) => i.severity !== null && !i.severityKnown && i.status !== 'closed')
        .map(
          (i) =>
            `severity "${i.severity}" (${at(i.line)}) is not one of the policy's levels (${blocking.join('/')}, P0–P4, critical, minor/low): ${i.text.slice(0, 160)}`,
        ),
    ];
    if (unclear.length) throw new AmbiguityError(unclear.join('; '));
    if (items.length === 0 && none.length === 0 && contentLength(section) === 0) {
      return fail([`${rel} "Known Issues" section is empty: write the known issues or "No known issues"`], metrics);
    }
    const closed = critical.length ? ` (${critical.length} closed)` : '';
    return pass(
      [
        `${rel} "${section.title}" (line ${section.line}): ${items.length} issue(s) documented, none open at ${blocking.join('/')}${closed}`,
      ],
      metrics,
    );
  },
});

function isAncestor(a: Section, b: Section): boolean {
  for (let p = b.parent; p; p = p.parent) if (p === a) return true;
  return false;
}
