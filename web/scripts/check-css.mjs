// Fails when a stylesheet under src/styles leaves a block open or closes
// one too many. CSS nesting is valid, so a lost `}` does not break the
// build: every rule after it silently nests under the open one and stops
// applying. `npm run build` runs this first.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const styles = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'src', 'styles');
let failed = false;
for (const name of readdirSync(styles).filter((n) => n.endsWith('.css'))) {
  // Comments and strings may hold braces; drop them first (keeping lines).
  const text = readFileSync(join(styles, name), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (s) => ' '.repeat(s.length));
  const open = [];
  text.split('\n').forEach((line, i) => {
    for (const ch of line) {
      if (ch === '{') open.push(i + 1);
      else if (ch === '}' && open.pop() === undefined) {
        console.error(`${name}:${i + 1}: a } closes no block`);
        failed = true;
      }
    }
  });
  // Where a } was lost, name the block it left open.
  for (const line of open) {
    console.error(`${name}:${line}: this block is never closed`);
    failed = true;
  }
}
if (failed) process.exit(1);
