import { contentLength, findSection, sectionLines, sourceLine } from '../parse/markdown.js';
import { readMarkdown } from '../parse/run-docs.js';
import { readIssues, readReview } from '../parse/statements.js';
import { defineCheck, fail, pass } from './define.js';

export const check = defineCheck({
  id: 'qa.code_review',
  category: 'qa',
  title: 'Production code reviewed',
  heavy: false,
  remediation:
    'Have the inference code (docs/deployment_guide.md "Inference API") and the export and deployment scripts reviewed; record the reviewer, date and outcome in final_report.md ("Code Review" section).',
  async run({ run, policy }) {
    const rel = policy.paths.final_report;
    if (!(await run.exists(rel))) return fail([`${rel} not found`]);
    const doc = await readMarkdown(run, rel, policy);
    const section = findSection(doc, 'Code Review');
    if (!section) return fail([`${rel} has no "Code Review" section: no review recorded`]);
    const first = sectionLines(section)[0];
    const firstLine = first ? sourceLine(doc, first.line).slice(0, 200) : '';
    if (contentLength(section) < 10) return fail([`${rel} "Code Review" section (line ${section.line}) is empty`]);
    const where = `${rel} "Code Review" (line ${section.line})`;
    const review = readReview(section);
    const notDone = review.notDone[0];
    if (notDone)
      return fail(
        [`${where} says "${notDone.phrase}": ${sourceLine(doc, notDone.line).slice(0, 200)} (${rel}:${notDone.line})`],
        { reviewed: false },
      );
    // Findings the review recorded with a blocking severity must be closed.
    const blocking = policy.qa.blocking_severities.map((s) => s.toUpperCase());
    const findings = readIssues(section, blocking).items.filter(
      (i) =>
        i.severity !== null &&
        (blocking.includes(i.severity.toUpperCase()) || i.severity === 'critical') &&
        i.status !== 'closed',
    );
    if (findings.length) {
      return fail(
        findings.map((f) => `${where} has an open ${f.severity} finding (${rel}:${f.line}): ${f.text.slice(0, 200)}`),
        { reviewed: false },
      );
    }
    const done = review.done[0];
    if (!done)
      return fail([`${where} does not record a completed review (reviewer and approval): ${firstLine}`], {
        reviewed: false,
      });
    return pass(
      [
        `${rel} "${section.title}" (line ${section.line}): ${firstLine}`,
        `review recorded: "${done.phrase}" (${rel}:${done.line})`,
      ],
      { reviewed: true },
    );
  },
});
