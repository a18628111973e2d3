/**
 * Preloaded (`node --import`) into a test worker process and, through the execArgv it forks with,
 * into its heavy-check child. Only in that child (the one of them with an IPC channel, on its main
 * thread) and only with READINESS_TEST_HEAVY_HOLD naming a folder does it act: it holds the first
 * heavy check that reports progress under the label READINESS_TEST_HEAVY_HOLD_LABEL names
 * ("latency": export.inference's latency test). That first progress report goes to the worker;
 * every later message about a request (progress, result, error) waits until a file `release`
 * appears in the folder (or the folder goes). So the worker sees the check running, with
 * progress, for as long as the test wants, however fast or loaded the machine is.
 *
 * One hold per folder: the child that creates `held` (writing its pid into it) holds, any other
 * runs as usual (a second worker that takes the job over, say). A held child whose worker dies
 * gets the IPC disconnect as usual and ends itself. See HeavyHold in workers.ts. (It adds no
 * 'message' listener: one added before the child's own would take the first request.)
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.READINESS_TEST_HEAVY_HOLD;
const holdLabel = process.env.READINESS_TEST_HEAVY_HOLD_LABEL;

/** Takes the folder's one hold for this process; false if another process has it. */
function claim(folder: string): boolean {
  try {
    writeFileSync(path.join(folder, 'held'), String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

if (dir && holdLabel && isMainThread && typeof process.send === 'function') {
  type SendArgs = Parameters<NonNullable<typeof process.send>>;
  const send = process.send.bind(process) as (...args: SendArgs) => boolean;
  let state: 'waiting' | 'holding' | 'done' = 'waiting';
  const held: SendArgs[] = [];
  const release = path.join(dir, 'release');
  process.send = ((...args: SendArgs): boolean => {
    const msg = args[0] as { id?: unknown; kind?: unknown; label?: unknown } | null;
    if (state === 'holding' && typeof msg?.id === 'number') {
      held.push(args);
      return true;
    }
    const ok = send(...args);
    if (state === 'waiting' && msg?.kind === 'progress' && msg.label === holdLabel) {
      state = claim(dir) ? 'holding' : 'done';
      if (state === 'holding') {
        const poll = setInterval(() => {
          // released, or the folder is gone (the test has ended)
          if (!existsSync(release) && existsSync(dir)) return;
          clearInterval(poll);
          state = 'done';
          for (const a of held.splice(0)) send(...a);
        }, 25);
      }
    }
    return ok;
  }) as typeof process.send;
}
