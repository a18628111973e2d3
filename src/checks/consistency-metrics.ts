import path from 'node:path';
import type { RunArtifacts } from '../artifacts/run.js';
import { checkpointLimits } from '../checkpoint/reader.js';
import { type CheckpointSummary, readCheckpointMetadata } from '../checkpoint/summary.js';
import { GateError } from '../errors.js';
import { inspectOnnxFile, onnxLimits } from '../onnx/inspect.js';
import { findNumber, isRecord, parsePythonJson } from '../parse/json.js';
import { findSection, linesAndRows, type MarkdownDocument } from '../parse/markdown.js';
import { perClassSources } from '../parse/metrics.js';
import { accuraciesAgree, parseAccuracy } from '../parse/numbers.js';
import { allAccuracies, describeSourced, optionalMarkdown, type SourcedAccuracy } from '../parse/run-docs.js';
import type { Policy } from '../policy/schema.js';
import { readAllLabels, testsetLimits } from '../testset/index.js';
import { defineCheck, fail, pass, warn } from './define.js';

/**
 * Cross-checks the numbers a run writes in several places: the best checkpoint's val_acc against
 * metrics.json, test_results.md and final_report.md (agreeing within the rounding of what is
 * written); the checkpoint's epoch against the epoch the documents name; and the class count of the
 * final layer against the per-class table, metrics.json, the ONNX output and the test labels. Each disagreement
 * fails with every value and its source.
 */

interface Sourced<T> {
  value: T;
  source: string;
}

const isNotFound = (err: unknown) =>
  err instanceof GateError && (err.code === 'NOT_FOUND' || err.code === 'NOT_A_FILE');

async function optionalText(run: RunArtifacts, rel: string, policy: Policy): Promise<string | null> {
  if (!(await run.exists(rel))) return null;
  try {
    return await run.readText(rel, policy.limits.max_text_bytes);
  } catch (err) {
    if (err instanceof GateError && !err.hostile && err.code !== 'PATH_ESCAPE') return null;
    throw err;
  }
}

/** A document for the epoch and class counts, or null when absent or unreadable (its own checks report why). */
async function optionalDoc(run: RunArtifacts, rel: string, policy: Policy): Promise<MarkdownDocument | null> {
  try {
    return await optionalMarkdown(run, rel, policy);
  } catch (err) {
    if (err instanceof GateError && !err.hostile && err.code !== 'PATH_ESCAPE') return null;
    throw err;
  }
}

/** The checkpoint's numbers, or null (checkpoint.best reports why it cannot be read). */
async function checkpointSummary(run: RunArtifacts, policy: Policy): Promise<CheckpointSummary | null> {
  try {
    return await readCheckpointMetadata(run, policy.paths.checkpoint_best, checkpointLimits(policy));
  } catch (err) {
    if (err instanceof GateError && !err.hostile) return null;
    throw err;
  }
}

/** Epochs a markdown document names for the best checkpoint (lines and table rows). */
export function epochsInDocument(doc: MarkdownDocument, checkpointName: string): Sourced<number>[] {
  const name = checkpointName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const patterns = [
    new RegExp(`${name}\\s*[(,]\\s*epoch\\s+(\\d+)`, 'gi'),
    /\bbest\s+epoch\b[\s*_:=|]*(\d+)/gi,
    /\bbest\s+checkpoint\s*\(\s*epoch\s+(\d+)\s*\)/gi,
  ];
  const out: Sourced<number>[] = [];
  for (const { text, line } of linesAndRows(doc.root)) {
    for (const re of patterns) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m; m = re.exec(text))
        out.push({ value: Number(m[1]), source: `${doc.file} line ${line}: "${m[0]}"` });
    }
  }
  return out;
}

/** Rows of the per-class table (summary rows such as "macro avg" are not classes). */
export function perClassRows(doc: MarkdownDocument): Sourced<number> | null {
  const section = findSection(doc, 'Per-Class Performance');
  const inSection = section ? perClassSources(doc, section) : [];
  const source = (inSection.length ? inSection : perClassSources(doc))[0];
  if (!source) return null;
  const what = source.form === 'report' ? 'classification report' : 'per-class table';
  return {
    value: source.rows.length,
    source: `${source.rows.length} rows in the ${what} (${doc.file} line ${source.line})`,
  };
}

function disagreement<T>(what: string, values: Sourced<T>[], show: (v: T) => string): string {
  return `${what} disagrees: ${values.map((v) => `${show(v.value)} (${v.source})`).join(' vs ')}`;
}

/** What the cross-checks found: disagreements, agreements and why something was not compared. */
interface Findings {
  problems: string[];
  agreed: string[];
  notes: string[];
}

/**
 * One cross-check: fewer than two sources is a note, every pair agreeing an agreement, anything
 * else a disagreement; each sentence is built only when it is the outcome.
 */
function crossCheck<T>(
  out: Findings,
  values: readonly T[],
  c: { agree: (a: T, b: T) => boolean; tooFew: () => string; agreed: () => string; disagreed: () => string },
): void {
  if (values.length < 2) out.notes.push(c.tooFew());
  else if (values.every((a) => values.every((b) => c.agree(a, b)))) out.agreed.push(c.agreed());
  else out.problems.push(c.disagreed());
}

/** Accuracies written in several places agree within the rounding of what each writes. */
function crossCheckAccuracy(out: Findings, what: string, accs: readonly SourcedAccuracy[]): void {
  crossCheck(out, accs, {
    agree: accuraciesAgree,
    tooFew: () =>
      `${what}: only ${accs.length} source${accs.length === 1 ? ` (${describeSourced(accs[0]!)})` : 's'}; nothing to compare`,
    agreed: () =>
      `${what} agrees within rounding across ${accs.length} sources: ${accs.map(describeSourced).join('; ')}`,
    disagreed: () =>
      `${what} disagrees beyond the rounding of what is written: ${accs.map(describeSourced).join(' vs ')}`,
  });
}

/** Whole numbers written in several places are equal; `agreed` words the agreement on the value. */
function crossCheckExact(
  out: Findings,
  what: string,
  values: readonly Sourced<number>[],
  agreed: (value: number) => string,
): void {
  crossCheck(out, values, {
    agree: (a, b) => a.value === b.value,
    tooFew: () => `${what}: ${values.length === 0 ? 'no source' : `only ${values[0]!.source}`}; nothing to compare`,
    agreed: () =>
      `${agreed(values[0]!.value)} across ${values.length} sources: ${values.map((v) => v.source).join('; ')}`,
    disagreed: () => disagreement(what, [...values], String),
  });
}

export const check = defineCheck({
  id: 'consistency.metrics',
  category: 'consistency',
  title: 'Numbers agree across artifacts',
  heavy: false,
  remediation:
    'Regenerate the documents from the same checkpoint and evaluation so every number agrees; a mismatch means a document or artifact is stale.',
  run: async ({ run, policy }) => {
    const ckptRel = policy.paths.checkpoint_best;
    const ckptName = path.posix.basename(ckptRel);
    const ckpt = await checkpointSummary(run, policy);
    const findings: Findings = { problems: [], agreed: [], notes: [] };
    const { problems, agreed, notes } = findings;
    if (!ckpt) notes.push(`${ckptRel} could not be read (see checkpoint.best); its numbers are not compared`);

    // val_acc
    const accs: SourcedAccuracy[] = [];
    if (ckpt?.valAcc) {
      const a = parseAccuracy(ckpt.valAcc.value);
      if (a) accs.push({ ...a, file: ckptRel, where: `key ${ckpt.valAcc.key}` });
    }
    accs.push(...(await allAccuracies(run, policy, 'val')));
    crossCheckAccuracy(findings, 'val_acc', accs);

    // test accuracy: the same evaluation written in test_results.md, metrics.json and final_report.md
    const tests = await allAccuracies(run, policy, 'test');
    crossCheckAccuracy(findings, 'test accuracy', tests);

    // epoch
    const epochs: Sourced<number>[] = [];
    if (ckpt?.epoch) epochs.push({ value: ckpt.epoch.value, source: `${ckptRel} key ${ckpt.epoch.key}` });
    const report = await optionalDoc(run, policy.paths.final_report, policy);
    const reportEpochs = report === null ? [] : epochsInDocument(report, ckptName);
    epochs.push(...reportEpochs);
    const results = await optionalDoc(run, policy.paths.test_results, policy);
    if (results !== null) epochs.push(...epochsInDocument(results, ckptName));
    let metricsJson: unknown = null;
    const metricsText = await optionalText(run, policy.paths.metrics, policy);
    if (metricsText !== null) {
      try {
        metricsJson = parsePythonJson(metricsText, policy.paths.metrics);
      } catch (err) {
        if (!(err instanceof GateError) || err.hostile) throw err;
        notes.push(`${policy.paths.metrics} does not parse; not compared`);
      }
    }
    if (isRecord(metricsJson) && typeof metricsJson.best_epoch === 'number') {
      epochs.push({ value: metricsJson.best_epoch, source: `${policy.paths.metrics} best_epoch` });
    }
    if (ckpt?.epoch && report !== null && reportEpochs.length === 0) {
      problems.push(
        `${policy.paths.final_report} does not name the best checkpoint's epoch (expected "${ckptName} (epoch ${ckpt.epoch.value})" or "Best epoch: ${ckpt.epoch.value}")`,
      );
    }
    crossCheckExact(findings, 'epoch', epochs, (v) => `epoch ${v} agrees`);

    // number of classes
    const classes: Sourced<number>[] = [];
    if (ckpt?.finalLayer) {
      classes.push({
        value: ckpt.finalLayer.classes,
        source: `final layer ${ckpt.finalLayer.name} [${ckpt.finalLayer.shape.join(', ')}] in ${ckptRel}`,
      });
    }
    const table = results === null ? null : perClassRows(results);
    if (table) classes.push(table);
    const nc = findNumber(metricsJson, ['num_classes', 'n_classes', 'number_of_classes'], 2);
    if (nc) classes.push({ value: nc.value, source: `${policy.paths.metrics} ${nc.path}` });
    if (await run.exists(policy.paths.onnx_model)) {
      try {
        const { info } = await inspectOnnxFile(run, policy.paths.onnx_model, onnxLimits(policy));
        const out = info.outputs[0];
        const last = out?.shape[out.shape.length - 1];
        if (out && typeof last === 'number')
          classes.push({
            value: last,
            source: `output "${out.name}" [${out.shape.map((d) => d ?? '?').join(', ')}] of ${policy.paths.onnx_model}`,
          });
      } catch (err) {
        if (err instanceof GateError && err.hostile) throw err;
        notes.push(
          `${policy.paths.onnx_model} could not be inspected (see export.present); its output is not compared`,
        );
      }
    }
    const labelsRel = policy.paths.test_labels;
    if (await run.exists(labelsRel)) {
      try {
        const labels = await readAllLabels(run, labelsRel, undefined, testsetLimits(policy));
        if (labels.length > 0) {
          let max = -1;
          const distinct = new Set<number>();
          for (const l of labels) {
            if (l > max) max = l;
            distinct.add(l);
          }
          classes.push({
            value: max + 1,
            source: `max label ${max} + 1 in ${labelsRel} (${distinct.size} distinct labels in ${labels.length} samples)`,
          });
        }
      } catch (err) {
        if (err instanceof GateError && err.hostile) throw err;
        if (!isNotFound(err))
          notes.push(
            `${labelsRel} could not be read (${err instanceof Error ? err.message : String(err)}); labels not compared`,
          );
      }
    }
    crossCheckExact(findings, 'number of classes', classes, (v) => `${v} classes agree`);

    const metrics = {
      val_acc_sources: accs.length,
      test_acc_sources: tests.length,
      epoch_sources: epochs.length,
      class_sources: classes.length,
      disagreements: problems.length,
    };
    if (problems.length > 0) return fail([...problems, ...agreed, ...notes], metrics);
    if (agreed.length === 0) return warn(['nothing could be cross-checked', ...notes], metrics);
    return pass([...agreed, ...notes], metrics);
  },
});
