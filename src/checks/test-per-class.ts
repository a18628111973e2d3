import { defineCheck, fail, fmt, pass } from './define.js';
import { GateError } from '../errors.js';
import { inspectPng } from '../formats/png.js';
import { findSection, parseSections, parseTables, plain, type Table } from '../parse/markdown.js';
import { firstNumber } from '../parse/numbers.js';

const PNG_CAP = 32 * 1024 * 1024;

export interface ClassRow {
  name: string;
  f1: number | null;
  recall: number | null;
  precision: number | null;
  /** Whether the values were written as percents (normalised to fractions here). */
  percent: boolean;
}

function column(headers: string[], re: RegExp): number {
  return headers.findIndex((h) => re.test(plain(h)));
}

/** Reads a fraction or percent cell as a fraction. */
function cellFraction(cell: string | undefined): { value: number; percent: boolean } | null {
  if (cell === undefined) return null;
  const n = firstNumber(cell);
  if (!n) return null;
  if (n.percentSign || n.value > 1) return { value: n.value / 100, percent: true };
  return { value: n.value, percent: false };
}

/** The per-class table: the first table with a class column and an F1 or recall column. */
export function parsePerClassTable(tables: readonly Table[]): ClassRow[] | null {
  for (const t of tables) {
    const cls = column(t.headers, /^(class|label|category|digit|name)\b/i);
    const f1 = column(t.headers, /^f1|f1[-\s]?score/i);
    const rec = column(t.headers, /^recall|sensitivity/i);
    const prec = column(t.headers, /^precision/i);
    if (cls < 0 || (f1 < 0 && rec < 0)) continue;
    const rows = t.rows
      .filter((r) => plain(r[cls] ?? '') !== '' && !/^(macro|weighted|micro|avg|average|overall|total|accuracy)\b/i.test(plain(r[cls] ?? '')))
      .map((r) => {
        const f = cellFraction(r[f1]);
        const rc = cellFraction(r[rec]);
        const p = cellFraction(r[prec]);
        return { name: plain(r[cls]!), f1: f?.value ?? null, recall: rc?.value ?? null, precision: p?.value ?? null, percent: Boolean(f?.percent || rc?.percent) };
      });
    if (rows.length > 0) return rows;
  }
  return null;
}

export const check = defineCheck({
  id: 'test.per_class',
  category: 'test',
  title: 'Confusion matrix generated and analyzed',
  heavy: false,
  remediation: 'Generate confusion matrix, analyze per-class performance, document in test_results.md.',
  async run({ run, policy }) {
    const problems: string[] = [];
    const evidence: string[] = [];
    const pngRel = policy.paths.confusion_matrix;
    if (!(await run.exists(pngRel))) {
      problems.push(`${pngRel} not found`);
    } else {
      try {
        const png = inspectPng(await run.readBytes(pngRel, PNG_CAP), pngRel);
        evidence.push(`${pngRel}: valid PNG ${png.width}×${png.height}`);
      } catch (err) {
        if (!(err instanceof GateError) || err.code !== 'PARSE_ERROR') throw err;
        problems.push(err.message);
      }
    }
    const mdRel = policy.paths.test_results;
    if (!(await run.exists(mdRel))) {
      return fail([...problems, `${mdRel} not found: no per-class performance documented`, ...evidence]);
    }
    const text = await run.readText(mdRel, policy.limits.max_text_bytes);
    const section = findSection(parseSections(text), 'Per-Class Performance') ?? findSection(parseSections(text), 'Per Class');
    const rows = parsePerClassTable(parseTables(section?.body ?? '')) ?? parsePerClassTable(parseTables(text));
    if (!rows) {
      return fail([...problems, `${mdRel}: no per-class table (columns Class and F1/Recall) found`, ...evidence]);
    }
    const { min_f1, min_recall } = policy.per_class;
    const weak: string[] = [];
    for (const r of rows) {
      if (r.f1 === null && r.recall === null) weak.push(`class ${r.name}: no F1 or recall value`);
      if (r.f1 !== null && !(r.f1 > min_f1)) weak.push(`class ${r.name}: F1 ${fmt(r.f1, 3)} ≤ ${min_f1}`);
      if (r.recall !== null && !(r.recall >= min_recall)) weak.push(`class ${r.name}: recall ${fmt(r.recall * 100, 1)}% < ${fmt(min_recall * 100)}% (catastrophic)`);
    }
    const f1s = rows.map((r) => r.f1).filter((v): v is number => v !== null);
    const recalls = rows.map((r) => r.recall).filter((v): v is number => v !== null);
    const minF1 = f1s.length ? Math.min(...f1s) : null;
    const minRecall = recalls.length ? Math.min(...recalls) : null;
    const worst = rows.reduce<ClassRow | null>((w, r) => (r.f1 !== null && (w === null || (w.f1 ?? 2) > r.f1) ? r : w), null);
    evidence.push(
      `${rows.length} classes in ${mdRel}${rows.some((r) => r.percent) ? ' (values read as percents)' : ''}; lowest F1 ${minF1 === null ? 'n/a' : fmt(minF1, 3)}${worst ? ` (class ${worst.name})` : ''}, lowest recall ${minRecall === null ? 'n/a' : `${fmt(minRecall * 100, 1)}%`}`,
    );
    const metrics = { classes: rows.length, min_f1: minF1, min_recall: minRecall, weak_classes: weak.length };
    if (problems.length + weak.length > 0) return fail([...problems, ...weak, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
