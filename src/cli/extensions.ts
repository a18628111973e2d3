import type { Command } from 'commander';
import type { Io } from './main.js';

/**
 * Commands that need Redis or Slack (worker, submit, status, serve). They live in their own
 * modules and are loaded lazily so `readiness check` starts without them.
 */
export async function register(program: Command, io: Io, setExit: (code: number) => void): Promise<void> {
  const [
    { registerWorker },
    { registerSubmit },
    { registerStatus },
    { registerServe },
    { registerAttestation },
    { registerVerify },
    { registerAudit },
  ] = await Promise.all([
    import('./worker.js'),
    import('./submit.js'),
    import('./status.js'),
    import('./serve.js'),
    import('./attestation.js'),
    import('./verify.js'),
    import('./audit.js'),
  ]);
  registerWorker(program, io, setExit);
  registerSubmit(program, io, setExit);
  registerStatus(program, io, setExit);
  registerServe(program, io, setExit);
  registerAttestation(program, io, setExit);
  registerVerify(program, io, setExit);
  registerAudit(program, io, setExit);
}
