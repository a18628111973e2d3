/**
 * Checkpoint reader benchmark: reading the metadata of a ~45 MB torch.save checkpoint (ResNet-18's
 * state dict, made here with Debian's torch) must not read its tensor data. Prints reader time and
 * bytes read against the file size; also the time to hash every tensor (what export.provenance does)
 * and a plain whole-file read for scale.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RunArtifacts } from '../src/artifacts/run.js';
import { checkpointWeightDigests } from '../src/checkpoint/provenance.js';
import { Checkpoint, checkpointLimits } from '../src/checkpoint/reader.js';
import { readCheckpointMetadata, summarizeCheckpoint } from '../src/checkpoint/summary.js';
import { DEFAULT_POLICY } from '../src/policy/schema.js';
import { median } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cache = path.join(here, '.cache');
const FILE = 'resnet18_checkpoint.pt';
const PYTHON = '/usr/bin/python3';

const MAKE = `
import sys, torch, torch.nn as nn
torch.manual_seed(0)
try:
    import torchvision
    model = torchvision.models.resnet18(num_classes=1000)
except Exception:
    model = nn.Sequential(*[nn.Linear(1024, 1024) for _ in range(10)], nn.Linear(1024, 1000))
opt_free = {"model_state_dict": model.state_dict(), "epoch": 17, "val_acc": 97.24}
torch.save(opt_free, sys.argv[1])
`;

async function main(): Promise<void> {
  mkdirSync(cache, { recursive: true });
  const abs = path.join(cache, FILE);
  if (!existsSync(abs)) {
    if (!existsSync(PYTHON)) {
      console.log(`checkpoint bench skipped: ${PYTHON} (with torch) is not available to generate the 45 MB checkpoint`);
      return;
    }
    const r = spawnSync(PYTHON, ['-c', MAKE, abs], { stdio: ['ignore', 'inherit', 'pipe'] });
    if (r.status !== 0 || !existsSync(abs)) {
      console.log(
        `checkpoint bench skipped: generating the checkpoint with ${PYTHON} failed: ${r.stderr.toString().trim().split('\n').pop()}`,
      );
      return;
    }
  }
  const run = await RunArtifacts.open(cache);
  const limits = checkpointLimits(DEFAULT_POLICY);
  for (let i = 0; i < 5; i++) await readCheckpointMetadata(run, FILE, limits); // warm-up (JIT, page cache)

  const times: number[] = [];
  let summary = await readCheckpointMetadata(run, FILE, limits);
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    summary = await readCheckpointMetadata(run, FILE, limits);
    times.push(performance.now() - t0);
  }
  const wholeTimes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await readFile(path.join(cache, FILE));
    wholeTimes.push(performance.now() - t0);
  }
  const digestTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const ckpt = await Checkpoint.open(run, FILE, limits);
    try {
      const s = await summarizeCheckpoint(ckpt);
      const t0 = performance.now();
      await checkpointWeightDigests(ckpt, s.stateDict?.tensors ?? []);
      digestTimes.push(performance.now() - t0);
    } finally {
      await ckpt.close();
    }
  }
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(
    `file: ${FILE}, ${mb(summary.bytes)} MB, ${summary.tensorCount} tensors, ${summary.parameters.toLocaleString('en-US')} parameters`,
  );
  console.log(
    `metadata read (readCheckpointMetadata): median ${median(times).toFixed(2)} ms over ${times.length} runs (min ${Math.min(...times).toFixed(2)} ms)`,
  );
  console.log(
    `bytes read for metadata: ${summary.bytesRead.toLocaleString('en-US')} of ${summary.bytes.toLocaleString('en-US')} (${((100 * summary.bytesRead) / summary.bytes).toFixed(3)} % of the file)`,
  );
  console.log(`for scale: fs.readFile of the whole file: median ${median(wholeTimes).toFixed(2)} ms`);
  console.log(`sha256 of every tensor (export.provenance): median ${median(digestTimes).toFixed(1)} ms`);
  if (summary.bytesRead > summary.bytes * 0.01) {
    console.log('FAIL: the metadata read touched more than 1 % of the file');
    process.exitCode = 1;
  }
}

await main();
