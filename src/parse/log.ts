/**
 * Training logs as tools write them. Each line is first stripped of the prefixes that container
 * runtimes, launchers and logging libraries put before the message, so tracebacks, the
 * "Training complete" line and losses are looked for in what the training script wrote:
 *
 * - container timestamps: `docker logs -t` / `kubectl logs --timestamps` (RFC 3339, nanoseconds),
 *   CRI log files (`<ts> stdout F `), `docker compose` service columns (`trainer-1  | `),
 *   `kubectl logs --prefix` (`[pod/x/c] `);
 * - launchers: torchrun `[rank0]:` / `[default0]:`, Lightning `[rank: 0]`, OpenMPI `[1,0]<stdout>:`;
 * - logging: timestamps (`2026-11-27 13:36:59,123`, `[…]`, ISO 8601, syslog `Nov 27 13:36:59`),
 *   levels (`INFO`, `[INFO]`, `INFO:name:`, `| INFO     |`, `- INFO -`), glog/absl
 *   (`I1127 13:36:59.123 140 file.py:12] `), logger names (`INFO:root:`, `- trainer - INFO - `).
 */

const PREFIXES: RegExp[] = [
  // RFC 3339 / ISO 8601 timestamps (docker -t, kubectl --timestamps, many loggers), optionally bracketed.
  /^\[?\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?:?(?:\s+|\s*[|-]\s+|$|(?=\[))/,
  // CRI log file stream and tag after the timestamp.
  /^(?:stdout|stderr) [FP] /,
  // Time only, syslog dates.
  /^\[?\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]?\s+/,
  /^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}\s+(?:\S+\s+\S+?(?:\[\d+\])?:\s+)?/,
  // glog / absl: I1127 13:36:59.123456 140234 train.py:88]
  /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]\s?/,
  // TensorFlow C++ logs after the timestamp: "I tensorflow/core/platform/cpu_feature_guard.cc:193] ".
  /^[IWEF] [\w/.-]+:\d+\]\s/,
  // Ray actors and tasks: "(RayTrainWorker pid=1234, ip=10.0.0.1) ", "(pid=1234) ".
  /^\((?:[\w.]+ )?pid=\d+(?:, ip=[\d.]+)?\)\s/,
  // DeepSpeed: "[logging.py:96:log_dist] [Rank 0] ".
  /^\[[\w.]+:\d+:\w+\]\s/,
  /^\[Rank \d+\]\s/,
  // srun --label: "0: ".
  /^\d{1,4}: (?=\S)/,
  // docker compose service column, kubectl --prefix.
  /^[\w.-]+-\d+\s+\|\s?/,
  /^\[pod\/[^\]\s]+\]\s/,
  // torchrun / elastic rank prefixes, OpenMPI --tag-output, Lightning rank_zero.
  /^\[(?:rank|default)\d+\]:\s?/,
  /^\[\d+,\d+\]<std(?:out|err)>:\s?/,
  /^\[rank: \d+\]\s/,
  // Levels with an optional logger name: "INFO:root:", "INFO - ", "[INFO]", "| INFO     |", "INFO ".
  /^(?:\|\s*)?\[?(?:DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL|TRACE|NOTICE)\]?(?::[\w.<>-]+(?=:))*(?:\s*[|:-]\s*|\s+)/,
  // Logger names between separators: "- trainer - INFO - ", "[trainer][INFO] - ", loguru "module:func:12 - ".
  /^[-|]\s+/,
  /^\[[\w.<>-]+\](?=\[)/,
  /^[\w.<>-]+(?::[\w<>]+:\d+)\s+-\s+/,
  /^[\w.<>-]+\s+-\s+(?=(?:DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL)\b)/,
];

/** The message part of one log line, with every recognised prefix removed. */
export function stripLogPrefix(line: string): string {
  let s = line.replace(/\s+$/, '');
  for (let guard = 0; guard < 12; guard++) {
    let changed = false;
    for (const re of PREFIXES) {
      const m = re.exec(s);
      if (m && m[0].length > 0) {
        s = s.slice(m[0].length);
        changed = true;
        break;
      }
    }
    if (!changed) break;
  }
  return s;
}

export interface LogLine {
  /** 1-based line number in the file. */
  line: number;
  raw: string;
  /** The message after prefixes (see stripLogPrefix). */
  body: string;
}

export function logLines(text: string): LogLine[] {
  return text.split('\n').map((raw, i) => ({ line: i + 1, raw, body: stripLogPrefix(raw) }));
}

const TRACEBACK_HEAD = /^Traceback \(most recent call last\):/;
const FRAME = /^File "[^"]+", line \d+/;
// An exception line as Python prints it: dotted name ending in Error/Exception/Interrupt, then ":" or end.
const EXCEPTION = /^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]*(?:Error|Exception|Interrupt)(?::(?:\s|$)|$)/;

/** First traceback or exception line, on message bodies (prefixes stripped). */
export function findTraceback(lines: readonly LogLine[]): LogLine | null {
  return (
    lines.find((l) => TRACEBACK_HEAD.test(l.body) || FRAME.test(l.body.trimStart()) || EXCEPTION.test(l.body)) ?? null
  );
}

const COMPLETE = /\btraining\s+(?:is\s+)?complete(?:d)?\b(?!\s*[:=]\s*(?:false|no|0)\b)/i;
const NOT_COMPLETE = /\b(?:not|never|in)\s*complete|\bincomplete\b/i;

/** The last line saying training completed (HF Trainer: "Training completed."), not negated. */
export function findCompletion(lines: readonly LogLine[]): LogLine | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (COMPLETE.test(l.body) && !NOT_COMPLETE.test(l.body)) return l;
  }
  return null;
}

export interface LossValue {
  line: number;
  raw: string;
  key: string;
  /** As written ("nan", "tensor(nan, grad_fn=…)", "0.0817"). */
  text: string;
  value: number;
}

// key: any identifier containing "loss" (train_loss, val/loss, loss/train, eval_loss, 'loss'),
// optionally quoted; then ":" / "=" / whitespace; then a number or a non-finite spelling, possibly
// wrapped (tensor(…), np.float32(…), numpy.float64(…)).
const NON_FINITE = '[-+]?(?:nan|inf(?:inity)?)';
const NUMBER = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?';
const LOSS_KV = new RegExp(
  `(?:^|[\\s{,(\\[|'"])(['"]?)((?:[A-Za-z_][\\w./-]*?)?loss[\\w./-]*)\\1\\s*(?:[:=]\\s*|\\s+)((?:tensor\\(|(?:np|numpy)\\.float(?:16|32|64)?\\(|torch\\.tensor\\()?\\s*(?:${NON_FINITE}|${NUMBER})\\b\\)?)`,
  'gi',
);
const NOT_A_LOSS = /scal|weight|coef|factor|fn$|func/i;
const SENTINEL_KEY = /(?:^|[_./-])(?:best|min|lowest|prev|previous|initial)(?:[_./-]|$)|^(?:best|min)/i;

function toNumber(text: string): number {
  const core = text
    .replace(/^(?:tensor\(|torch\.tensor\(|(?:np|numpy)\.float(?:16|32|64)?\()\s*/i, '')
    .replace(/\)$/, '')
    .trim()
    .toLowerCase();
  if (/^[-+]?nan$/.test(core)) return Number.NaN;
  if (/^\+?inf(?:inity)?$/.test(core)) return Number.POSITIVE_INFINITY;
  if (/^-inf(?:inity)?$/.test(core)) return Number.NEGATIVE_INFINITY;
  return Number(core);
}

/**
 * Every loss value the log reports, in order. "Best so far" sentinels written before training
 * (`best_loss = inf` before any finite loss) are not losses and are left out.
 */
export function findLosses(lines: readonly LogLine[]): LossValue[] {
  const out: LossValue[] = [];
  let sawFinite = false;
  for (const l of lines) {
    for (const m of l.body.matchAll(LOSS_KV)) {
      const key = m[2]!;
      // Loss scaling (AMP, DeepSpeed, fairseq) and loss weights are settings, not losses.
      if (NOT_A_LOSS.test(key)) continue;
      const text = m[3]!.trim();
      const value = toNumber(text);
      if (Number.isNaN(value) && !/nan/i.test(text)) continue;
      if (value === Number.POSITIVE_INFINITY && !sawFinite && SENTINEL_KEY.test(key)) continue;
      if (Number.isFinite(value)) sawFinite = true;
      out.push({ line: l.line, raw: l.raw, key, text, value });
    }
  }
  return out;
}
