import type { CheckQueueKind } from '../../queue/names.js';

/** `readiness worker`: serves the check queues until SIGTERM/SIGINT (exit 0 after a graceful stop). */
export async function workerCommand(o: { queues: CheckQueueKind[] }): Promise<void> {
  const { runWorkerProcess } = await import('../../worker/run.js');
  await runWorkerProcess({ queues: o.queues });
}
