/**
 * Hostile ONNX models end as a clear refusal within bounds, never as a crash or a hang of this
 * process: a node bomb inside an If subgraph, graphs nested thousands deep, a model that needs more
 * decode heap than its cap, and a sparse_value constant whose external data is not next to the model.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { findCheck } from '../../src/checks/registry.js';
import { runCheck } from '../../src/checks/runner.js';
import { inspectOnnxFile } from '../../src/onnx/inspect.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { runCli } from '../helpers/cli.js';
import { cleanupRuns, copyExampleRun } from '../helpers/runs.js';
import {
  buildModel,
  endlessLoopModel,
  memoryBombModel,
  modelWithIf,
  nestedGraph,
  nodeBombGraph,
  sparseExternalModel,
} from './build.js';

const LIMITS = { maxBytes: 512 * 1024 * 1024, maxNodes: 250_000 };
const BOMB_NODES = 30_000_000;
let root: string;
let run: RunArtifacts;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'onnx-hostile-'));
  await mkdir(path.join(root, 'run/models'), { recursive: true });
  run = await RunArtifacts.open(path.join(root, 'run'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await cleanupRuns();
});

async function place(name: string, bytes: Uint8Array): Promise<string> {
  await writeFile(path.join(root, 'run/models', name), bytes);
  return `models/${name}`;
}

/** Runs `fn`, returning how long it took and how much this process's heap grew. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T | Error; seconds: number; heapGrowthMb: number }> {
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const value = await fn().catch((e: unknown) => e as Error);
  return {
    value,
    seconds: (performance.now() - t0) / 1000,
    heapGrowthMb: (process.memoryUsage().heapUsed - heap0) / 2 ** 20,
  };
}

describe('a node bomb inside an If subgraph', () => {
  it(`${BOMB_NODES.toLocaleString('en-US')} empty nodes (60 MB) are counted on the wire and refused before decoding`, async () => {
    const rel = await place('bomb.onnx', modelWithIf(nodeBombGraph(BOMB_NODES)));
    const r = await measured(() => inspectOnnxFile(run, rel, LIMITS));
    expect(r.value).toMatchObject({
      code: 'UNSAFE_ARTIFACT',
      hostile: true,
      // the bomb, the If node and the else branch's Identity
      message: expect.stringMatching(
        new RegExp(
          `declares ${BOMB_NODES + 2} nodes \\(${(BOMB_NODES + 1).toLocaleString('en-US')} of them inside subgraphs\\), more than the limit of 250000 \\(limits.max_onnx_nodes\\)`,
        ),
      ),
    });
    // decoding them would need gigabytes of heap; counting needs a pass over the bytes
    expect(r.seconds).toBeLessThan(30);
    expect(r.heapGrowthMb).toBeLessThan(100);
  });

  it('export.provenance (a light check) ends with a security finding on it, and this process carries on', async () => {
    const dir = await copyExampleRun();
    await writeFile(path.join(dir, 'models/production_model.onnx'), modelWithIf(nodeBombGraph(BOMB_NODES)));
    const r = await runCheck(findCheck('export.provenance')!, {
      run: await RunArtifacts.open(dir),
      policy: DEFAULT_POLICY,
    });
    expect(r.status).toBe('fail');
    expect(r.security).toBe(true);
    expect(r.evidence.join(' ')).toMatch(
      /security finding: models\/production_model\.onnx: the model declares 30000002 nodes .*inside subgraphs/,
    );
  });
});

describe('subgraphs nested thousands deep', () => {
  it('are refused at the depth limit, before the decoder recurses into them', async () => {
    const rel = await place('deep.onnx', modelWithIf(nestedGraph(2000)));
    const r = await measured(() => inspectOnnxFile(run, rel, { ...LIMITS, maxDepth: 16 }));
    expect(r.value).toMatchObject({
      code: 'UNSAFE_ARTIFACT',
      hostile: true,
      message: expect.stringMatching(/subgraphs are nested more than 16 levels deep \(limits\.max_onnx_graph_depth\)/),
    });
    expect(r.seconds).toBeLessThan(30);
  });

  it('a model nested within the limit is inspected, its subgraph nodes counted', async () => {
    const rel = await place('nested-ok.onnx', modelWithIf(nestedGraph(5)));
    const { info } = await inspectOnnxFile(run, rel, LIMITS);
    // main If + else Identity + 4 nested Ifs + the leaf Identity
    expect(info.counts).toMatchObject({ depth: 6, nodes: 7, subgraphNodes: 6 });
  });
});

describe('the decode heap cap', () => {
  it('a model that needs more heap than limits.onnx_decode_heap_mb ends as an error; the next model decodes', async () => {
    // under a (raised) node limit, 4 million nodes still need far more than 64 MB of decoded objects
    const rel = await place('heavy-decode.onnx', modelWithIf(nodeBombGraph(4_000_000)));
    const r = await measured(() => inspectOnnxFile(run, rel, { ...LIMITS, maxNodes: 1e9, heapMb: 64 }));
    expect(r.value).toMatchObject({
      code: 'TOO_LARGE',
      hostile: false,
      message: expect.stringMatching(
        /decoding the model needed more than its 64 MB heap \(limits\.onnx_decode_heap_mb\)/,
      ),
    });
    expect(r.seconds).toBeLessThan(60);
    const ok = await place('ok.onnx', buildModel());
    await expect(inspectOnnxFile(run, ok, { ...LIMITS, heapMb: 64 })).resolves.toMatchObject({ info: { nodes: 1 } });
  });
});

describe('a sparse_value constant with external data', () => {
  it('is inspected like any tensor: a location outside the model folder is refused, naming the sparse tensor', async () => {
    const up = await place('sparse-up.onnx', sparseExternalModel('../../secret.bin'));
    await expect(inspectOnnxFile(run, up, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(
        /"sparse_vals" \(sparse tensor attribute "sparse_value" of node "c" values\).*"\.\."/,
      ),
    });
    const abs = await place('sparse-abs.onnx', sparseExternalModel('/etc/passwd'));
    await expect(inspectOnnxFile(run, abs, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"sparse_vals".*absolute path/),
    });
  });

  it('readiness check never lets onnxruntime resolve it against the working directory', async () => {
    const dir = await copyExampleRun();
    await writeFile(path.join(dir, 'models/production_model.onnx'), sparseExternalModel('weights.bin'));
    // the file exists in the CLI's working directory, not next to the model
    const cwd = await mkdtemp(path.join(tmpdir(), 'onnx-cwd-'));
    await writeFile(path.join(cwd, 'weights.bin'), Buffer.from(new Float32Array([1]).buffer));
    const r = await runCli(['check', dir, '--format', 'json', '--quiet'], { cwd, timeoutMs: 120_000 });
    await rm(cwd, { recursive: true, force: true });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { checks: { id: string; status: string; evidence: string[] }[] };
    for (const id of ['export.inference', 'export.parity']) {
      const c = j.checks.find((x) => x.id === id)!;
      expect(c.status).toBe('error');
      const ev = c.evidence.join(' ');
      expect(ev).toMatch(
        /"sparse_vals" \(sparse tensor attribute "sparse_value" of node "c" values\) stores its data in external file "weights\.bin", which does not exist next to the model/,
      );
      expect(ev).not.toMatch(/loaded in onnxruntime/);
    }
  });
});

/** A protobuf length-delimited field: tag, length, bytes. */
function field(num: number, bytes: Uint8Array): Buffer {
  const varint = (v: number): number[] => {
    const out: number[] = [];
    for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v & 0x7f) | 0x80);
    out.push(v);
    return out;
  };
  return Buffer.concat([Buffer.from(varint(num * 8 + 2)), Buffer.from(varint(bytes.length)), bytes]);
}

/**
 * The Identity model plus a model-local function whose default attribute value (FunctionProto
 * field 11, attribute_proto: newer than the protobuf schema the decoder knows) is a tensor with
 * external data at `location`. Encoded by hand: onnx-proto has no such field to encode.
 */
function functionDefaultExternalModel(location: string): Uint8Array {
  const attr = onnxProto.onnx.AttributeProto.encode({
    name: 'w',
    type: 4,
    t: {
      name: 'fn_default',
      dims: [4],
      dataType: 1,
      dataLocation: 1,
      externalData: [{ key: 'location', value: location }],
    },
  }).finish();
  const fn = onnxProto.onnx.FunctionProto.encode({
    name: 'scaled',
    domain: 'local',
    input: ['a'],
    output: ['b'],
    node: [{ opType: 'Identity', input: ['a'], output: ['b'] }],
  }).finish();
  return Buffer.concat([buildModel(), field(25, Buffer.concat([fn, field(11, attr)]))]);
}

describe("a model-local function's default attribute with external data", () => {
  it('is found on the wire, decoded and inspected: a location outside the model folder is refused, naming it', async () => {
    const rel = await place('fn-default.onnx', functionDefaultExternalModel('../../secret.bin'));
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      code: 'UNSAFE_ARTIFACT',
      hostile: true,
      message: expect.stringMatching(
        /tensor "fn_default" \(attribute "w" of node "default of function scaled"\) stores its data in external file "\.\.\/\.\.\/secret\.bin", which contains "\.\."/,
      ),
    });
    // the same function with the tensor next to the model is inspected like any external tensor
    await writeFile(path.join(root, 'run/models/fn-default.bin'), Buffer.alloc(16));
    const ok = await place('fn-default-ok.onnx', functionDefaultExternalModel('fn-default.bin'));
    const { info } = await inspectOnnxFile(run, ok, LIMITS);
    expect(info.externalData).toEqual([{ tensor: 'fn_default', file: 'models/fn-default.bin', offset: 0, length: 16 }]);
  });
});

describe('heavy checks past their limits (readiness check: heavy checks run in a child process)', () => {
  async function checkWithPolicy(model: Uint8Array, limits: Record<string, unknown>) {
    const dir = await copyExampleRun();
    await writeFile(path.join(dir, 'models/production_model.onnx'), model);
    const policyFile = path.join(path.dirname(dir), 'policy.json');
    await writeFile(policyFile, JSON.stringify({ limits }));
    const t0 = performance.now();
    const r = await runCli(['check', dir, '--policy', policyFile, '--format', 'json', '--quiet'], {
      timeoutMs: 240_000,
    });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as {
      gate: string;
      checks: { id: string; status: string; evidence: string[]; duration_ms: number }[];
    };
    return { j, seconds, check: (id: string) => j.checks.find((c) => c.id === id)! };
  }

  it('a runtime memory bomb (ConstantOfShape of 4 GB) ends as error "exceeded 512 MB" for both heavy checks', async () => {
    const { j, seconds, check } = await checkWithPolicy(memoryBombModel(1_000_000_000), { heavy_check_memory_mb: 512 });
    expect(j.gate).toBe('blocked');
    for (const id of ['export.parity', 'export.inference']) {
      const c = check(id);
      expect(c.status).toBe('error');
      expect(c.evidence.join(' ')).toMatch(
        new RegExp(
          `${id.replace('.', '\\.')} exceeded 512 MB \\(limits\\.heavy_check_memory_mb\\); the check process was killed and restarted`,
        ),
      );
      // the watchdog polls every 100 ms; the bomb needs seconds to reach 4 GB
      expect(c.duration_ms).toBeLessThan(30_000);
    }
    // the light checks around them ran normally in the same process
    expect(check('training.completed').status).toBe('pass');
    expect(seconds).toBeLessThan(180);
  });

  it('a model that never finishes ends as error "exceeded 3 s" at the heavy time limit', async () => {
    const { seconds, check } = await checkWithPolicy(endlessLoopModel(), { check_timeout_s: { light: 120, heavy: 3 } });
    for (const id of ['export.parity', 'export.inference']) {
      const c = check(id);
      expect(c.status).toBe('error');
      expect(c.evidence.join(' ')).toMatch(/exceeded 3 s \(limits\.check_timeout_s\.heavy\)/);
      expect(c.duration_ms).toBeGreaterThanOrEqual(3000);
      expect(c.duration_ms).toBeLessThan(20_000);
    }
    expect(seconds).toBeLessThan(180);
  });
});
