/** Entry point of the heavy-check child process that HeavyRunner forks (src/worker/heavy-child.ts). */
import { serveHeavyRequests } from '../src/worker/heavy-child.js';

serveHeavyRequests();
