import { copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { check, withinLatencyBudget } from '../../src/checks/export-inference.js';
import { runCheck } from '../../src/checks/runner.js';
import type { CheckProgress, CheckResult } from '../../src/checks/types.js';
import { summarizeLatency } from '../../src/onnx/latency.js';
import { DEFAULT_POLICY, type Policy } from '../../src/policy/schema.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';
import { buildModel, valueInfo } from '../onnx/build.js';
import { ONNX_FIXTURES } from '../onnx/run-variants.js';

afterAll(cleanupRuns);

const MODEL = 'models/production_model.onnx';

async function inference(
  dir: string,
  policy: Policy = DEFAULT_POLICY,
  onProgress?: (p: CheckProgress) => void,
): Promise<CheckResult> {
  const run = await RunArtifacts.open(dir);
  return runCheck(check, onProgress ? { run, policy, onProgress } : { run, policy });
}

describe('export.inference on the example run', () => {
  it('passes with the default policy: ≥ 1000 timed requests, percentiles, throughput, machine fingerprint', async () => {
    const progress: CheckProgress[] = [];
    const r = await inference(EXAMPLE_RUN, DEFAULT_POLICY, (p) => progress.push(p));
    expect(r.status, r.evidence.join('\n')).toBe('pass');
    expect(DEFAULT_POLICY.latency.requests).toBeGreaterThanOrEqual(1000);
    expect(r.metrics.requests).toBe(DEFAULT_POLICY.latency.requests);
    for (const k of ['p50_ms', 'p95_ms', 'p99_ms', 'throughput_rps']) expect(typeof r.metrics[k]).toBe('number');
    const { p50_ms, p95_ms, p99_ms } = r.metrics as Record<string, number>;
    expect(p50_ms).toBeGreaterThan(0);
    expect(p50_ms).toBeLessThanOrEqual(p95_ms!);
    expect(p95_ms).toBeLessThanOrEqual(p99_ms!);
    const text = r.evidence.join('\n');
    expect(r.evidence[0]).toMatch(/^inference works: p95 [\d.]+ ms < 100 ms budget over 1000 requests$/);
    expect(text).toMatch(/output "logits" \[1, 10\] float32/);
    expect(text).toMatch(/batch 16: .* per sample/);
    expect(text).toMatch(/batch 32: .* per sample/);
    expect(text).toMatch(/machine: .*\d+ cores.*onnxruntime-node 1\.\d+.*cpu execution provider, intra-op threads/);
    expect(r.metrics.onnxruntime_version).toMatch(/^1\./);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.label === 'latency' && p.total === 1000)).toBe(true);
    expect(progress.at(-1)?.done).toBe(1000);
  });

  it('p95 must be below the budget: equal to it fails (DESIGN: p95 < budget)', () => {
    expect(withinLatencyBudget(99.999, 100)).toBe(true);
    expect(withinLatencyBudget(100, 100)).toBe(false);
    expect(withinLatencyBudget(100.001, 100)).toBe(false);
    expect(withinLatencyBudget(0.25, 0.5)).toBe(true);
    expect(withinLatencyBudget(0.5, 0.25)).toBe(false);
  });

  it('fails when p95 is over the budget', async () => {
    const policy = {
      ...DEFAULT_POLICY,
      latency: { ...DEFAULT_POLICY.latency, p95_budget_ms: 0.000001, batch_sizes: [1] },
    };
    const r = await inference(EXAMPLE_RUN, policy);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/p95 latency .* ms is over the 0.000001 ms budget/);
    expect(r.metrics.requests).toBe(1000);
    expect(r.remediation).toMatch(/Latency p95 is over budget/);
  });

  it('throughput runs are bounded by time (latency.throughput_seconds), not by a request count', async () => {
    const policy = {
      ...DEFAULT_POLICY,
      latency: { ...DEFAULT_POLICY.latency, batch_sizes: [1, 16], concurrency: [1, 2], throughput_seconds: 0.4 },
    };
    const r = await inference(EXAMPLE_RUN, policy);
    expect(r.status).toBe('pass');
    const text = r.evidence.join('\n');
    // a timed run stops at its deadline after the request in flight: well under a second here
    expect(text).toMatch(/batch 16: timed for 0\.[4-9] s, p50/);
    expect(text).toMatch(/concurrency 2 \(one session, requests queue in the worker\): 0\.[4-9] s of requests, p50/);
    for (const k of ['batch16_window_ms', 'concurrency2_window_ms']) {
      expect(r.metrics[k]).toBeGreaterThanOrEqual(400);
      expect(r.metrics[k]).toBeLessThan(5000);
    }
    // the 1000-request single-sample test is unchanged
    expect(r.metrics.requests).toBe(1000);
  });

  it('measures concurrency levels when the policy asks', async () => {
    const policy = { ...DEFAULT_POLICY, latency: { ...DEFAULT_POLICY.latency, batch_sizes: [], concurrency: [1, 4] } };
    const r = await inference(EXAMPLE_RUN, policy);
    expect(r.status).toBe('pass');
    expect(r.evidence.join('\n')).toMatch(/concurrency 4 .*requests, p50/);
    expect(typeof r.metrics.concurrency4_throughput_rps).toBe('number');
  });
});

describe('export.inference failures', () => {
  it('a NaN-producing model fails "finite" before any load test', async () => {
    const dir = await copyExampleRun();
    await copyFile(path.join(ONNX_FIXTURES, 'digits-nan.onnx'), path.join(dir, MODEL));
    const r = await inference(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/output values are not finite \(10 of 10 are NaN\/Inf\)/);
    expect(r.metrics.requests).toBeUndefined();
  });

  it('an output that is not [1, classes] fails', async () => {
    const dir = await copyExampleRun();
    await writeFile(
      path.join(dir, MODEL),
      buildModel({
        nodes: [{ opType: 'Identity', input: ['input'], output: ['out'] }],
        inputs: [valueInfo('input', ['batch', 1, 8, 8])],
        outputs: [valueInfo('out', ['batch', 1, 8, 8])],
      }),
    );
    const r = await inference(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/output shape \[1, 1, 8, 8\] is not \[1, /);
  });

  it('a graph onnxruntime rejects fails as a broken export', async () => {
    const dir = await copyExampleRun();
    await writeFile(
      path.join(dir, MODEL),
      buildModel({
        nodes: [{ opType: 'NoSuchOperator', input: ['input'], output: ['logits'] }],
        inputs: [valueInfo('input', ['batch', 1, 8, 8])],
        outputs: [valueInfo('logits', ['batch', 10])],
      }),
    );
    const r = await inference(dir);
    expect(r.status).toBe('fail');
    expect(r.evidence[0]).toMatch(/does not load in onnxruntime-node: .*NoSuchOperator/);
    expect(r.remediation).toMatch(/Re-export/);
  });

  it('a TorchScript-only run asks for an ONNX export, opset ≥ 13', async () => {
    const dir = await copyExampleRun();
    await rm(path.join(dir, MODEL));
    await copyFile(
      path.join(dir, 'checkpoints/production/final_model_last.pt'),
      path.join(dir, 'models/production_model.pt'),
    );
    const r = await inference(dir);
    expect(r.status).toBe('fail');
    expect(r.remediation).toMatch(/export to ONNX, opset ≥ 13/i);
  });

  it('a hostile model is a security finding', async () => {
    const dir = await copyExampleRun();
    await writeFile(
      path.join(dir, MODEL),
      buildModel({
        inputs: [valueInfo('input', ['batch', 1, 8, 8])],
        outputs: [valueInfo('logits', ['batch', 10])],
        initializers: [{ name: 'bomb', dims: [1 << 30, 1 << 30], dataType: 1 }],
      }),
    );
    const r = await inference(dir);
    expect(r.status).toBe('fail');
    expect(r.security).toBe(true);
    expect(r.evidence[0]).toMatch(/"bomb"/);
  });
});

describe('summarizeLatency', () => {
  it('reports HDR percentiles, mean and throughput', () => {
    const d = Array.from({ length: 1000 }, (_, i) => (i + 1) / 100); // 0.01 .. 10 ms
    const s = summarizeLatency(d, 2000);
    expect(s.requests).toBe(1000);
    expect(s.p50_ms).toBeCloseTo(5, 1);
    expect(s.p95_ms).toBeCloseTo(9.5, 1);
    expect(s.p99_ms).toBeCloseTo(9.9, 1);
    expect(s.max_ms).toBeCloseTo(10, 1);
    expect(s.mean_ms).toBeCloseTo(5.005, 1);
    expect(s.throughput_rps).toBe(500);
  });
});
