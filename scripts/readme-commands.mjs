#!/usr/bin/env node
/**
 * Prints the two commands the README opens with (the first ```sh block), one per line, without
 * their trailing comments — so CI and scripts/fresh-clone-check.sh run them exactly as written.
 * Fails when the block is missing, holds other than two commands, or the second is not `npm test`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
const block = /```sh\n([\s\S]*?)```/.exec(readme);
if (!block) {
  console.error('README.md: no ```sh block with the two commands');
  process.exit(2);
}
const commands = block[1]
  .split('\n')
  .map((l) => l.replace(/\s+#.*$/, '').trim())
  .filter((l) => l !== '');
if (commands.length !== 2 || commands[1] !== 'npm test') {
  console.error(
    `README.md: the first block must hold exactly two commands, the second "npm test"; found: ${JSON.stringify(commands)}`,
  );
  process.exit(2);
}
process.stdout.write(`${commands.join('\n')}\n`);
