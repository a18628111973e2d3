import { contentLength, findSection, sectionLines } from '../parse/markdown.js';
import { readMarkdown } from '../parse/run-docs.js';
import { defineCheck, pass, warn } from './define.js';
import { requireSections } from './sections.js';

const CARD_TOPICS = ['Intended Use', 'Training Data', 'Performance', 'Limitation', 'Ethical Consideration'];
const NO_CARD =
  /model card[^.\n]*\b(not (?:been )?(?:created|provided|written|included)|skipped|omitted|deferred|not required|not needed)\b|\bno model card\b/i;
/** The same statement under a "Model Card" heading, where the heading names the card: "Not created: …". */
const NOT_CREATED =
  /^(?:(?:it |the card |this )?(?:was |is |has )?(?:not (?:been )?(?:created|provided|written|included)|skipped|omitted|deferred|not required|not needed)|none)\b/i;

export const check = defineCheck({
  id: 'docs.model_card',
  category: 'docs',
  title: 'model_card.md created for transparency and ethics',
  heavy: false,
  remediation:
    'Highly recommended for production ML systems, especially customer-facing applications. If skipped: Document "Model card not created" in final_report.md with justification.',
  async run({ run, policy }) {
    const rel = policy.paths.model_card;
    if (await run.exists(rel)) {
      const doc = await readMarkdown(run, rel, policy);
      if (contentLength(doc.root) < policy.docs.min_section_chars)
        return warn([`${rel} exists but is empty`], { present: true });
      const r = requireSections(doc, CARD_TOPICS, 1);
      const covered = CARD_TOPICS.length - r.missing.length - r.empty.length;
      const metrics = { present: true, topics_covered: covered, topics: CARD_TOPICS.length };
      if (covered < CARD_TOPICS.length) {
        return warn(
          [
            `${rel} present; topics not covered: ${[...r.missing, ...r.empty.map((e) => `${e.name} (empty, ${rel}:${e.section.line})`)].join(', ')}`,
          ],
          metrics,
        );
      }
      return pass([`${rel} present, covers ${CARD_TOPICS.join(', ')}`], metrics);
    }
    const reportRel = policy.paths.final_report;
    if (await run.exists(reportRel)) {
      const report = await readMarkdown(run, reportRel, policy);
      const lines = sectionLines(report.root);
      const cardSection = findSection(report, 'Model Card');
      const inCardSection = (l: (typeof lines)[number]) =>
        cardSection !== undefined && l.section === cardSection && NOT_CREATED.test(l.text.replace(/^[*_\s]+/, ''));
      const i = lines.findIndex((l) => NO_CARD.test(l.text) || inCardSection(l));
      if (i >= 0) {
        const hit = lines[i]!;
        const next = lines[i + 1];
        const justification = [hit.text, next && next.line === hit.line + 1 ? next.text : ''].join(' ').trim();
        if (justification.length > 40) {
          return pass([`${rel} absent; ${reportRel}:${hit.line} documents why: "${justification.slice(0, 200)}"`], {
            present: false,
            justified: true,
          });
        }
        return warn([`${rel} absent; ${reportRel}:${hit.line} says so but gives no justification`], {
          present: false,
          justified: false,
        });
      }
    }
    return warn([`${rel} absent and ${reportRel} does not document "Model card not created" with a justification`], {
      present: false,
      justified: false,
    });
  },
});
