import { defineCheck, fail, pass } from './define.js';
import { contentLength, findSection, parseSections } from '../parse/markdown.js';

const NOT_DONE = /\b(not (?:yet )?(?:been )?reviewed|review (?:is )?pending|pending review|todo|tbd|to be done|not done|awaiting review|changes requested)\b/i;
const DONE = /\b(reviewed by|approved|review (?:completed|complete|done|passed)|lgtm|signed off)\b/i;

export const check = defineCheck({
  id: 'qa.code_review',
  category: 'qa',
  title: 'Production code reviewed',
  heavy: false,
  remediation: 'Conduct code review for inference_api.py and deployment scripts; record the reviewer, date and outcome in final_report.md ("Code Review" section).',
  async run({ run, policy }) {
    const rel = policy.paths.final_report;
    if (!(await run.exists(rel))) return fail([`${rel} not found`]);
    const section = findSection(parseSections(await run.readText(rel, policy.limits.max_text_bytes)), 'Code Review');
    if (!section) return fail([`${rel} has no "Code Review" section: no review recorded`]);
    const body = section.body.trim();
    const firstLine = body.split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 200) ?? '';
    if (contentLength(body) < 10) return fail([`${rel} "Code Review" section (line ${section.line}) is empty`]);
    const notDone = NOT_DONE.exec(body);
    if (notDone) return fail([`${rel} "Code Review" (line ${section.line}) says "${notDone[0]}": ${firstLine}`], { reviewed: false });
    if (!DONE.test(body)) return fail([`${rel} "Code Review" (line ${section.line}) does not record a completed review (reviewer and approval): ${firstLine}`], { reviewed: false });
    return pass([`${rel} "${section.title}" (line ${section.line}): ${firstLine}`], { reviewed: true });
  },
});
