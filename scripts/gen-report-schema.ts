/** Writes docs/report.schema.json (the JSON Schema of `--format json`) from the zod schema: `npm run docs:schemas`. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportJsonSchema } from '../src/report/json.js';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/report.schema.json');
writeFileSync(out, `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
