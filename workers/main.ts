/** Worker entrypoint without the CLI: `node dist/workers/main.js [light,heavy]` (the Docker image uses the CLI). */
import { GateError } from '../src/errors.js';
import type { CheckQueueKind } from '../src/queue/names.js';
import { runWorkerProcess } from './run.js';

const arg = process.argv[2] ?? 'light,heavy';
const queues = arg.split(',').filter((q): q is CheckQueueKind => q === 'light' || q === 'heavy');
try {
  await runWorkerProcess({ queues: queues.length > 0 ? queues : ['light', 'heavy'] });
} catch (err) {
  process.stderr.write(`readiness worker: ${err instanceof GateError ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
