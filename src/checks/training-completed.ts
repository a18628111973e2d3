import { GateError } from '../errors.js';
import { isRecord, jsonLosses, parseJsonDocument, type JsonDocument, type JsonMetric } from '../parse/json.js';
import { findCompletion, findLosses, findTraceback, logLines } from '../parse/log.js';
import { defineCheck, fail, fmt, pass } from './define.js';

const EPOCH = /\bepoch\s*[:=]?\s*(\d+)(?:\s*\/\s*(\d+))?/i;
const quote = (raw: string) => `"${raw.trim().slice(0, 160)}"`;

/** Loss series in metrics.json: histories grouped by path without their indices. */
function lossSeries(losses: readonly JsonMetric[]): { path: string; values: JsonMetric[] }[] {
  const by = new Map<string, JsonMetric[]>();
  for (const l of losses) {
    if (!l.history) continue;
    const key = l.path.replace(/\[\d+\]/g, '[]');
    by.set(key, [...(by.get(key) ?? []), l]);
  }
  return [...by].map(([path, values]) => ({ path: path.replace(/\[\]$/, ''), values }));
}

export const check = defineCheck({
  id: 'training.completed',
  category: 'training',
  title: 'Final production training executed and completed',
  heavy: false,
  remediation: 'Final training incomplete or failed. Debug issues, restart final training.',
  async run({ run, policy }) {
    const logRel = policy.paths.training_log;
    const evidence: string[] = [];
    const problems: string[] = [];
    if (!(await run.exists(logRel))) {
      return fail([`${logRel} not found: no training log saved`]);
    }
    const log = await run.readText(logRel, policy.limits.max_text_bytes);
    const lines = logLines(log);
    if (log.trim() === '') problems.push(`${logRel} is empty`);
    const complete = findCompletion(lines);
    if (complete) evidence.push(`${logRel}:${complete.line}: ${quote(complete.raw)}`);
    else problems.push(`${logRel} has no "Training complete" line (training did not finish or the log was cut)`);

    const tb = findTraceback(lines);
    if (tb) problems.push(`${logRel}:${tb.line}: error in the log: ${quote(tb.raw)}`);
    const bad = findLosses(lines).find((l) => !Number.isFinite(l.value));
    if (bad) problems.push(`${logRel}:${bad.line}: non-finite loss: ${quote(bad.raw)}`);

    let epochs = 0;
    let maxEpochs: number | null = null;
    for (const l of lines) {
      const m = EPOCH.exec(l.body);
      if (m) {
        epochs = Math.max(epochs, Number(m[1]));
        if (m[2]) maxEpochs = Number(m[2]);
      }
    }
    if (epochs > 0) evidence.push(`${epochs}${maxEpochs ? `/${maxEpochs}` : ''} epochs logged in ${logRel}`);

    const metricsRel = policy.paths.metrics;
    let finalLoss: number | null = null;
    if (!(await run.exists(metricsRel))) {
      problems.push(`${metricsRel} not found: final metrics were not saved`);
    } else {
      let doc: JsonDocument | undefined;
      try {
        doc = parseJsonDocument(await run.readText(metricsRel, policy.limits.max_text_bytes), metricsRel);
      } catch (err) {
        if (!(err instanceof GateError) || err.code !== 'PARSE_ERROR') throw err;
        problems.push(err.message);
      }
      if (doc) {
        if (!isRecord(doc.value)) problems.push(`${metricsRel}: expected a JSON object at the top level`);
        const losses = jsonLosses(doc);
        for (const l of losses) {
          if (l.value === null) problems.push(`${metricsRel}:${l.line}: ${l.path} is null where a loss is expected (JSON writers such as JavaScript's write NaN and Infinity as null)`);
          else if (!Number.isFinite(l.value)) problems.push(`${metricsRel}:${l.line}: ${l.path} is ${l.written}: NaN/Inf loss`);
        }
        const series = lossSeries(losses);
        const train = series.find((s) => s.values[0]!.split === 'train' && s.values.length > 1) ?? series.find((s) => s.values.length > 1);
        const last = train?.values.at(-1);
        if (last && last.value !== null && Number.isFinite(last.value)) {
          finalLoss = last.value;
          evidence.push(`${metricsRel}:${doc.lineOf(train!.path) ?? train!.values[0]!.line}: ${train!.path}: ${train!.values.length} values, final ${fmt(last.value, 4)}`);
        } else if (losses.length === 0) {
          evidence.push(`${metricsRel} parses; no loss history recorded`);
        }
      }
    }
    const metrics = { epochs, max_epochs: maxEpochs, final_loss: finalLoss, completed: complete !== null };
    if (problems.length > 0) return fail([...problems, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
