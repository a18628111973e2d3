import { CommanderError } from 'commander';
import { errorMessage, GateError } from '../errors.js';
import { EXIT, ExitError, type Io } from './output.js';
import { buildProgram } from './program.js';

/**
 * Runs `readiness <argv>` and returns the exit code: the code a command ended with (ExitError),
 * 0 for --help and --version, 2 for usage and configuration errors, and 2 for any unexpected
 * exception (with its message), so a crash is never read as a passing gate.
 */
export async function main(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    return exitCodeOf(err, io);
  }
}

function exitCodeOf(err: unknown, io: Io): number {
  if (err instanceof ExitError) return err.code;
  if (err instanceof CommanderError) {
    // --help and --version exit 0; every other parse error is a usage error (commander printed it).
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof GateError) {
    io.stderr.write(`readiness: ${err.message}\n`);
    return EXIT.usage;
  }
  io.stderr.write(`readiness: unexpected error: ${errorMessage(err)}\n`);
  return EXIT.usage;
}
