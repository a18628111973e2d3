/** Writes docs/configuration.md from the zod schemas: `npm run docs:config`. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigurationReference } from '../src/reference/configuration.js';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/configuration.md');
writeFileSync(out, renderConfigurationReference());
console.log(`wrote ${out}`);
