import type { Command } from 'commander';
import type { Io } from './main.js';

/**
 * Commands that need Redis or Slack (worker, submit, status, serve). They live in their own
 * modules and are loaded lazily so `readiness check` starts without them.
 */
export async function register(_program: Command, _io: Io, _setExit: (code: number) => void): Promise<void> {
  // Registered by the queue and Slack modules.
}
