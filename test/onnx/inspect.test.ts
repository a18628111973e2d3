import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { describeModel, inspectOnnxFile } from '../../src/onnx/inspect.js';
import { measureOnnx } from '../../src/onnx/wire.js';
import { EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';
import { buildModel, externalTensor } from './build.js';

const LIMITS = { maxBytes: 64 * 1024 * 1024, maxNodes: 1000 };
let root: string;
let runDir: string;
let outside: string;
let run: RunArtifacts;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'onnx-inspect-'));
  runDir = path.join(root, 'run');
  outside = path.join(root, 'outside');
  await mkdir(path.join(runDir, 'models'), { recursive: true });
  await mkdir(outside);
  // A FIFO outside the run: opening it would block forever, so any test that touched it would hang.
  execFileSync('mkfifo', [path.join(outside, 'weights.bin')]);
  run = await RunArtifacts.open(runDir);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function place(name: string, bytes: Uint8Array): Promise<string> {
  const rel = `models/${name}`;
  await writeFile(path.join(runDir, rel), bytes);
  return rel;
}

describe('inspection of real exports', () => {
  it('reads opset, IR version, inputs/outputs and parameters of the example model', async () => {
    const ex = await RunArtifacts.open(EXAMPLE_RUN);
    const { info } = await inspectOnnxFile(ex, 'models/production_model.onnx', LIMITS);
    expect(info.opset).toBe(13);
    expect(info.irVersion).toBeGreaterThanOrEqual(7);
    expect(info.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 1, 8, 8] }]);
    expect(info.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }]);
    expect(info.parameters).toBeGreaterThan(1000);
    expect(info.externalData).toEqual([]);
    expect(describeModel(info)).toMatch(/opset 13.*"input" float32 \[batch, 1, 8, 8\]/);
  });

  it('accepts external data that stays in the model folder and lists it', async () => {
    const ext = await RunArtifacts.open(path.join(REPO_ROOT, 'test/fixtures/onnx/external'));
    const { info } = await inspectOnnxFile(ext, 'model.onnx', LIMITS);
    expect(info.externalData.length).toBe(2);
    expect(info.externalData.every((e) => e.file === 'weights.bin')).toBe(true);
    expect(info.externalBytes).toBe(2600);
    expect(ext.accessed.has('weights.bin')).toBe(true);
  });
});

describe('hostile ONNX files are refused before onnxruntime, naming the tensor', () => {
  it('external data at an absolute path', async () => {
    const rel = await place(
      'abs.onnx',
      buildModel({ initializers: [externalTensor('stolen_weight', path.join(outside, 'weights.bin'), [4])] }),
    );
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      code: 'UNSAFE_ARTIFACT',
      hostile: true,
      message: expect.stringMatching(/"stolen_weight".*absolute path/),
    });
  });

  it('external data with ".."', async () => {
    const rel = await place(
      'dotdot.onnx',
      buildModel({ initializers: [externalTensor('w_up', '../../outside/weights.bin', [4])] }),
    );
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"w_up".*"\.\."/),
    });
  });

  it('external data through a symlink that leaves the folder (the target is never opened)', async () => {
    await symlink(path.join(outside, 'weights.bin'), path.join(runDir, 'models', 'link.bin'));
    const rel = await place('symlink.onnx', buildModel({ initializers: [externalTensor('w_link', 'link.bin', [4])] }));
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"w_link".*symlink/),
    });
  });

  it('external data claiming more bytes than its file holds', async () => {
    await writeFile(path.join(runDir, 'models', 'small.bin'), Buffer.alloc(16));
    const rel = await place(
      'extlen.onnx',
      buildModel({ initializers: [externalTensor('w_long', 'small.bin', [1000], { offset: '0', length: '4000' })] }),
    );
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"w_long".*holds only 16 bytes/),
    });
  });

  it('a tensor whose declared dims exceed the cap', async () => {
    const rel = await place(
      'huge.onnx',
      buildModel({
        initializers: [
          { name: 'huge_weight', dims: [100000, 100000, 100000], dataType: 1, rawData: new Uint8Array(8) },
        ],
      }),
    );
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"huge_weight".*\[100000, 100000, 100000\] float32.*more than the \d+-byte cap/),
    });
  });

  it('a tensor whose dims claim more bytes than the file holds', async () => {
    const rel = await place(
      'short.onnx',
      buildModel({ initializers: [{ name: 'short_weight', dims: [1000], dataType: 1, rawData: new Uint8Array(16) }] }),
    );
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"short_weight".*4000 bytes.*only 16/),
    });
  });

  it('a Constant node tensor is checked like an initializer', async () => {
    const rel = await place(
      'const.onnx',
      buildModel({
        nodes: [
          {
            opType: 'Constant',
            output: ['y'],
            name: 'c',
            attribute: [{ name: 'value', type: 4, t: { name: 'const_t', dims: [1 << 20], dataType: 1 } }],
          },
        ],
      }),
    );
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"const_t".*Constant|"const_t".*node "c"/),
    });
  });

  it('a tensor inside a model-local function is checked too', async () => {
    const base = onnxProto.onnx.ModelProto.decode(buildModel());
    base.functions = [
      onnxProto.onnx.FunctionProto.create({
        name: 'f',
        domain: 'local',
        node: [
          {
            opType: 'Constant',
            output: ['c'],
            attribute: [{ name: 'value', type: 4, t: { name: 'fn_tensor', dims: [1 << 30], dataType: 1 } }],
          },
        ],
      }),
    ];
    const rel = await place('function.onnx', onnxProto.onnx.ModelProto.encode(base).finish());
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/"fn_tensor"/),
    });
  });

  it('an absurd node count', async () => {
    const nodes = Array.from({ length: 2000 }, (_, i) => ({ opType: 'Identity', input: ['x'], output: [`y${i}`] }));
    const rel = await place('nodes.onnx', buildModel({ nodes }));
    expect(
      measureOnnx(await readFile(path.join(runDir, rel)), rel, {
        maxNodes: 1e9,
        maxAttributes: 1e9,
        maxTensors: 1e9,
        maxDepth: 16,
      }).counts,
    ).toMatchObject({ nodes: 2000, subgraphNodes: 0, depth: 1 });
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      hostile: true,
      message: expect.stringMatching(/2000 nodes.*max_onnx_nodes/),
    });
  });
});

describe('broken files fail clearly', () => {
  it('a truncated protobuf', async () => {
    const full = await readFile(path.join(EXAMPLE_RUN, 'models/production_model.onnx'));
    const rel = await place('truncated.onnx', full.subarray(0, Math.floor(full.length / 2)));
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      code: 'PARSE_ERROR',
      message: expect.stringMatching(/not a valid ONNX model: the protobuf is truncated/),
    });
  });

  it('bytes that are not ONNX', async () => {
    const rel = await place(
      'png.onnx',
      Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'),
    );
    await expect(inspectOnnxFile(run, rel, LIMITS)).rejects.toMatchObject({
      code: 'PARSE_ERROR',
      message: expect.stringMatching(/not (a valid )?(an )?ONNX model/),
    });
    const rel2 = await place('text.onnx', Buffer.from('hello, this is a text file and not a model\n'));
    await expect(inspectOnnxFile(run, rel2, LIMITS)).rejects.toMatchObject({ code: 'PARSE_ERROR' });
    const rel3 = await place('empty.onnx', new Uint8Array(0));
    await expect(inspectOnnxFile(run, rel3, LIMITS)).rejects.toThrow(/is empty/);
  });

  it('a model over the size cap is refused before reading it', async () => {
    await copyFile(path.join(EXAMPLE_RUN, 'models/production_model.onnx'), path.join(runDir, 'models/big.onnx'));
    await expect(inspectOnnxFile(run, 'models/big.onnx', { ...LIMITS, maxBytes: 1000 })).rejects.toMatchObject({
      code: 'TOO_LARGE',
    });
  });
});
