/** Latency load test summaries (HDR histogram) and the machine fingerprint recorded with them. */
import os from 'node:os';
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  requests: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  throughput_rps: number;
}

/** Records per-request durations (ms) in an HDR histogram at microsecond resolution, 3 significant digits. */
export function summarizeLatency(
  durationsMs: ArrayLike<number>,
  elapsedMs: number,
  samplesPerRequest = 1,
): LatencySummary {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  try {
    for (let i = 0; i < durationsMs.length; i++) {
      h.recordValue(Math.max(1, Math.round((durationsMs[i] as number) * 1000)));
    }
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      requests: durationsMs.length,
      p50_ms: ms(h.getValueAtPercentile(50)),
      p90_ms: ms(h.getValueAtPercentile(90)),
      p95_ms: ms(h.getValueAtPercentile(95)),
      p99_ms: ms(h.getValueAtPercentile(99)),
      max_ms: ms(h.maxValue),
      mean_ms: Math.round(h.mean) / 1000,
      throughput_rps:
        elapsedMs > 0 ? Math.round(((durationsMs.length * samplesPerRequest) / elapsedMs) * 1000 * 10) / 10 : 0,
    };
  } finally {
    h.destroy();
  }
}

export interface MachineFingerprint {
  cpu: string;
  cores: number;
  platform: string;
  node: string;
  onnxruntime: string;
  execution_provider: string;
  intra_op_threads: string;
}

export function machineFingerprint(
  ortVersion: string,
  executionProvider: string,
  intraOpThreads: number,
): MachineFingerprint {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
    onnxruntime: ortVersion,
    execution_provider: executionProvider,
    intra_op_threads: intraOpThreads > 0 ? String(intraOpThreads) : 'onnxruntime default',
  };
}
