import type { RunArtifacts } from '../artifacts/run.js';
import { contentLength, findSections, type MarkdownDocument, type Section } from '../parse/markdown.js';
import { readMarkdown } from '../parse/run-docs.js';
import type { Policy } from '../policy/schema.js';
import { fail, pass } from './define.js';
import type { CheckOutcome } from './types.js';

export interface SectionReport {
  present: { name: string; section: Section; chars: number }[];
  missing: string[];
  empty: { name: string; section: Section }[];
}

/**
 * Each named section, by title (any level, numbering and case ignored), with its content counted
 * through its sub-sections; HTML comments and markup do not count. When a title appears twice,
 * the first non-empty one is used.
 */
export function requireSections(doc: MarkdownDocument, names: readonly string[], minChars: number): SectionReport {
  const report: SectionReport = { present: [], missing: [], empty: [] };
  for (const name of names) {
    const found = findSections(doc, name);
    if (found.length === 0) {
      report.missing.push(name);
      continue;
    }
    const counted = found.map((section) => ({ section, chars: contentLength(section) }));
    const full = counted.find((c) => c.chars >= minChars);
    if (full) report.present.push({ name, ...full });
    else report.empty.push({ name, section: found[0]! });
  }
  return report;
}

/** Shared body of the "document has all its sections" checks. */
export async function checkDocumentSections(
  run: RunArtifacts,
  policy: Policy,
  rel: string,
  names: readonly string[],
): Promise<CheckOutcome> {
  if (!(await run.exists(rel)))
    return fail([`${rel} not found`], { sections_present: 0, sections_required: names.length });
  const doc = await readMarkdown(run, rel, policy);
  const r = requireSections(doc, names, policy.docs.min_section_chars);
  const metrics = { sections_present: r.present.length, sections_required: names.length };
  const evidence: string[] = [];
  if (r.missing.length) evidence.push(`${rel} is missing: ${r.missing.join(', ')}`);
  if (r.empty.length) {
    evidence.push(
      `${rel} has empty sections (< ${policy.docs.min_section_chars} characters of content): ${r.empty.map((e) => `${e.name} (${rel}:${e.section.line})`).join(', ')}`,
    );
  }
  evidence.push(
    `${r.present.length}/${names.length} sections present and non-empty in ${rel}${r.present.length ? ` (${r.present.map((p) => `${p.name} l.${p.section.line}`).join(', ')})` : ''}`,
  );
  return r.missing.length + r.empty.length > 0 ? fail(evidence, metrics) : pass(evidence, metrics);
}
