import { GateError } from '../errors.js';
import { inspectPng } from '../formats/png.js';
import { Decimal } from '../parse/decimal.js';
import { findSection } from '../parse/markdown.js';
import { AmbiguityError, type PerClassSource, perClassSources } from '../parse/metrics.js';
import type { WrittenNumber } from '../parse/numbers.js';
import { readMarkdown } from '../parse/run-docs.js';
import { defineCheck, fail, pass } from './define.js';

const PNG_CAP = 32 * 1024 * 1024;

export interface ClassScore {
  name: string;
  /** Fractions, exactly as written (a percent cell shifted by two places). */
  f1: Decimal | null;
  recall: Decimal | null;
  line: number;
}

/** A fraction or percent cell as an exact fraction; whether it was written as a percent. */
function fraction(n: WrittenNumber | null): { value: Decimal; percent: boolean } | null {
  if (!n) return null;
  if (n.percentSign || n.exact.gt(Decimal.of(1))) return { value: n.exact.shift(-2), percent: true };
  return { value: n.exact, percent: false };
}

function scores(source: PerClassSource): { rows: ClassScore[]; percent: boolean } {
  let percent = false;
  const rows = source.rows.map((r) => {
    const f = fraction(r.f1);
    const rc = fraction(r.recall);
    percent ||= Boolean(f?.percent || rc?.percent);
    return { name: r.name, f1: f?.value ?? null, recall: rc?.value ?? null, line: r.line };
  });
  return { rows, percent };
}

const key = (rows: ClassScore[]) => rows.map((r) => `${r.name}=${r.f1 ?? '-'}/${r.recall ?? '-'}`).join(',');
const pct = (d: Decimal) => `${d.shift(2)}%`;

export const check = defineCheck({
  id: 'test.per_class',
  category: 'test',
  title: 'Confusion matrix generated and analyzed',
  heavy: false,
  remediation:
    'Generate the confusion matrix (results/production/confusion_matrix.png), analyse per-class performance and document it in results/production/test_results.md (per-class table with F1 and recall).',
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
    const doc = await readMarkdown(run, mdRel, policy);
    const section = findSection(doc, 'Per-Class Performance') ?? findSection(doc, 'Per Class');
    const inSection = section ? perClassSources(doc, section) : [];
    const sources = inSection.length ? inSection : perClassSources(doc);
    if (sources.length === 0) {
      return fail([...problems, `${mdRel}: no per-class table (columns Class and F1/Recall) found`, ...evidence]);
    }
    const read = sources.map(scores);
    // Two per-class results (a table and a pasted report) that differ: which one is the model's?
    if (read.some((r) => key(r.rows) !== key(read[0]!.rows))) {
      throw new AmbiguityError(
        `${sources.length} per-class results in ${mdRel} differ: ${sources.map((s) => `${s.form} at ${mdRel}:${s.line}`).join(' vs ')}`,
      );
    }
    const { rows, percent } = read[0]!;
    const source = sources[0]!;
    const minF1 = Decimal.fromNumber(policy.per_class.min_f1);
    const minRecall = Decimal.fromNumber(policy.per_class.min_recall);
    const weak: string[] = [];
    for (const r of rows) {
      const at = `${mdRel}:${r.line}`;
      if (r.f1 === null && r.recall === null) weak.push(`class ${r.name}: no F1 or recall value (${at})`);
      if (r.f1 !== null && !r.f1.gt(minF1)) weak.push(`class ${r.name}: F1 ${r.f1} ≤ ${minF1} (${at})`);
      if (r.recall !== null && !r.recall.ge(minRecall))
        weak.push(`class ${r.name}: recall ${pct(r.recall)} < ${pct(minRecall)} (catastrophic) (${at})`);
    }
    const lowest = (pickValue: (r: ClassScore) => Decimal | null) =>
      rows.reduce<ClassScore | null>((w, r) => {
        const v = pickValue(r);
        if (v === null) return w;
        const wv = w ? pickValue(w) : null;
        return wv === null || v.lt(wv) ? r : w;
      }, null);
    const worstF1 = lowest((r) => r.f1);
    const worstRecall = lowest((r) => r.recall);
    const form = source.form === 'report' ? 'classification report' : 'table';
    evidence.push(
      `${rows.length} classes in ${mdRel} (${form} at ${mdRel}:${source.line})${percent ? ' (values read as percents)' : ''}; lowest F1 ${worstF1 ? `${worstF1.f1} (class ${worstF1.name})` : 'n/a'}, lowest recall ${worstRecall ? pct(worstRecall.recall!) : 'n/a'}`,
    );
    const metrics = {
      classes: rows.length,
      min_f1: worstF1?.f1?.toNumber() ?? null,
      min_recall: worstRecall?.recall?.toNumber() ?? null,
      weak_classes: weak.length,
    };
    if (problems.length + weak.length > 0) return fail([...problems, ...weak, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
