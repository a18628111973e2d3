import { type Command, InvalidArgumentError } from 'commander';
import type { CheckQueueKind } from '../queue/names.js';
import type { Io } from './main.js';

export function parseQueues(v: string): CheckQueueKind[] {
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = parts.filter((p) => p !== 'light' && p !== 'heavy');
  if (parts.length === 0 || bad.length > 0)
    throw new InvalidArgumentError(`expected a comma-separated list of light and heavy, got "${v}"`);
  return [...new Set(parts)] as CheckQueueKind[];
}

export function registerWorker(program: Command, _io: Io, setExit: (code: number) => void): void {
  program
    .command('worker')
    .description('run checks from the shared queues (REDIS_URL, ARTIFACT_ROOT) until SIGTERM/SIGINT')
    .option('--queues <list>', 'queues to serve: light, heavy or both', parseQueues, [
      'light',
      'heavy',
    ] as CheckQueueKind[])
    .action(async (o: { queues: CheckQueueKind[] }) => {
      // The worker module (bullmq, onnxruntime via the checks) loads only for this command.
      const { runWorkerProcess } = await import('../worker/run.js');
      await runWorkerProcess({ queues: o.queues });
      setExit(0);
    });
}
