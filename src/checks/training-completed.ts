import { GateError } from '../errors.js';
import { isRecord, type JsonDocument, jsonLosses, parseJsonDocument } from '../parse/json.js';
import { findCompletion, findLosses, findTraceback, logLines } from '../parse/log.js';
import { defineCheck, fail, fmt, pass } from './define.js';

const EPOCH = /\bepoch\s*[:=]?\s*(\d+)(?:\s*\/\s*(\d+))?/i;
/** Non-finite losses named in evidence, at most (the first ones in the file). */
const MAX_REPORTED = 10;
const quote = (raw: string) => `"${raw.trim().slice(0, 160)}"`;

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
    const ambiguities: string[] = [];
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
        for (const d of doc.duplicates.filter((x) => /loss/i.test(x.path))) {
          ambiguities.push(
            `ambiguous: ${d.path} is written twice in ${metricsRel} (lines ${d.lines[0]} and ${d.lines[1]}); which value was meant cannot be told`,
          );
        }
        for (const l of losses.filter((x) => x.value === null || !Number.isFinite(x.value)).slice(0, MAX_REPORTED)) {
          const at = `${metricsRel}:${doc.lineOf(l.segments) ?? '?'}`;
          if (l.value === null)
            problems.push(
              `${at}: ${l.path} is null where a loss is expected (JSON writers such as JavaScript's write NaN and Infinity as null)`,
            );
          else problems.push(`${at}: ${l.path} is ${l.written}: NaN/Inf loss`);
        }
        const ends = losses.filter((l) => l.series && l.series.length > 1);
        const train = ends.find((l) => l.split === 'train') ?? ends[0];
        if (train && train.value !== null && Number.isFinite(train.value)) {
          finalLoss = train.value;
          const seriesPath = train.series!.path;
          // The line where the history starts (for per-epoch records, the list's key).
          const line = doc.lineOf(seriesPath.split('[]')[0]!);
          evidence.push(
            `${metricsRel}:${line ?? '?'}: ${seriesPath}: ${train.series!.length} values, final ${fmt(train.value, 4)}`,
          );
        } else if (losses.length === 0) {
          evidence.push(`${metricsRel} parses; no loss history recorded`);
        }
      }
    }
    const metrics = { epochs, max_epochs: maxEpochs, final_loss: finalLoss, completed: complete !== null };
    if (ambiguities.length > 0)
      return { status: 'error', evidence: [...ambiguities, ...problems, ...evidence], metrics };
    if (problems.length > 0) return fail([...problems, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
