import { defineCheck, fail, fmt, pass } from './define.js';
import { isRecord, lossSeries } from '../parse/json.js';
import { readMetricsJson } from '../parse/run-docs.js';

const COMPLETE = /training\s+complete/i;
const TRACEBACK = /^Traceback \(most recent call last\):|^\s*File "[^"]+", line \d+|^(?:\w+\.)*\w*(?:Error|Exception): /m;
// No \b before "loss": the usual log keys are train_loss / val_loss.
const BAD_LOSS = /loss\w*\s*[:=]\s*(?:tensor\(\s*)?(nan|[-+]?inf(?:inity)?)\b/i;
const EPOCH = /\bepoch\s*[:=]?\s*(\d+)(?:\s*\/\s*(\d+))?/i;

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
    const lines = log.split('\n');
    if (log.trim() === '') problems.push(`${logRel} is empty`);
    const completeLine = lines.findIndex((l) => COMPLETE.test(l));
    if (completeLine >= 0) evidence.push(`${logRel}:${completeLine + 1}: "${lines[completeLine]!.trim().slice(0, 160)}"`);
    else problems.push(`${logRel} has no "Training complete" line (training did not finish or the log was cut)`);

    const tb = lines.findIndex((l) => TRACEBACK.test(l));
    if (tb >= 0) problems.push(`${logRel}:${tb + 1}: error in the log: "${lines[tb]!.trim().slice(0, 160)}"`);
    const nanLine = lines.findIndex((l) => BAD_LOSS.test(l));
    if (nanLine >= 0) problems.push(`${logRel}:${nanLine + 1}: non-finite loss: "${lines[nanLine]!.trim().slice(0, 160)}"`);

    let epochs = 0;
    let maxEpochs: number | null = null;
    for (const l of lines) {
      const m = EPOCH.exec(l);
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
      const data = await readMetricsJson(run, policy).catch((err: Error) => {
        problems.push(err.message);
        return undefined;
      });
      if (data !== undefined) {
        if (!isRecord(data)) problems.push(`${metricsRel}: expected a JSON object at the top level`);
        const series = lossSeries(data);
        for (const s of series) {
          const bad = s.values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
          if (bad >= 0) problems.push(`${metricsRel} ${s.path}[${bad}] is ${String(s.values[bad])}: NaN/Inf or non-numeric loss`);
        }
        const train = series.find((s) => /train/i.test(s.path) && s.values.length > 1) ?? series.find((s) => s.values.length > 1);
        const last = train?.values.at(-1);
        if (typeof last === 'number') {
          finalLoss = last;
          evidence.push(`${metricsRel} ${train!.path}: ${train!.values.length} values, final ${fmt(last, 4)}`);
        } else if (series.length === 0) {
          evidence.push(`${metricsRel} parses; no loss history recorded`);
        }
      }
    }
    const metrics = { epochs, max_epochs: maxEpochs, final_loss: finalLoss, completed: completeLine >= 0 };
    if (problems.length > 0) return fail([...problems, ...evidence], metrics);
    return pass(evidence, metrics);
  },
});
