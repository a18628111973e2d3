import type { RunArtifacts } from '../artifacts/run.js';
import type { Policy } from '../policy/schema.js';
import { contentLength, findSection, parseSections, type Section } from '../parse/markdown.js';
import { fail, pass } from './define.js';
import type { CheckOutcome } from './types.js';

export interface SectionReport {
  present: { name: string; section: Section; chars: number }[];
  missing: string[];
  empty: string[];
}

export function requireSections(sections: readonly Section[], names: readonly string[], minChars: number): SectionReport {
  const report: SectionReport = { present: [], missing: [], empty: [] };
  for (const name of names) {
    const s = findSection(sections, name);
    if (!s) report.missing.push(name);
    else {
      const chars = contentLength(s.body);
      if (chars < minChars) report.empty.push(name);
      else report.present.push({ name, section: s, chars });
    }
  }
  return report;
}

/** Shared body of the "document has all its sections" checks. */
export async function checkDocumentSections(run: RunArtifacts, policy: Policy, rel: string, names: readonly string[]): Promise<CheckOutcome> {
  if (!(await run.exists(rel))) return fail([`${rel} not found`], { sections_present: 0, sections_required: names.length });
  const text = await run.readText(rel, policy.limits.max_text_bytes);
  const sections = parseSections(text);
  const r = requireSections(sections, names, policy.docs.min_section_chars);
  const metrics = { sections_present: r.present.length, sections_required: names.length };
  const evidence: string[] = [];
  if (r.missing.length) evidence.push(`${rel} is missing: ${r.missing.join(', ')}`);
  if (r.empty.length) evidence.push(`${rel} has empty sections (< ${policy.docs.min_section_chars} characters of content): ${r.empty.join(', ')}`);
  evidence.push(`${r.present.length}/${names.length} sections present and non-empty in ${rel}${r.present.length ? ` (${r.present.map((p) => `${p.name} l.${p.section.line}`).join(', ')})` : ''}`);
  return r.missing.length + r.empty.length > 0 ? fail(evidence, metrics) : pass(evidence, metrics);
}
