// Fails when the modules under src/ import each other in a cycle.
//
// It reads every .ts and .vue file, follows the imports that name another
// file of the app (relative paths and the '@/' alias; static, type-only and
// dynamic imports alike) and reports each cycle it finds as a chain of
// files. `npm run build` runs it first.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|vue)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

// import … from 'x', export … from 'x', import 'x', import('x')
const importPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

function specifiers(file) {
  let text = readFileSync(file, 'utf8');
  // Comments may mention imports; drop them first.
  text = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...text.matchAll(importPattern)].map((m) => m[1]);
}

function resolveImport(from, spec) {
  let base;
  if (spec.startsWith('@/')) base = join(src, spec.slice(2));
  else if (spec.startsWith('.')) base = resolve(dirname(from), spec);
  else return null; // a package
  for (const candidate of [base, `${base}.ts`, `${base}.vue`, join(base, 'index.ts'), join(base, 'index.vue')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  if (/\.(css|svg|png)$/.test(spec)) return null;
  throw new Error(`${relative(root, from)}: cannot resolve import '${spec}'`);
}

const graph = new Map();
for (const file of files(src)) {
  const deps = new Set();
  for (const spec of specifiers(file)) {
    const dep = resolveImport(file, spec);
    if (dep) deps.add(dep);
  }
  graph.set(file, [...deps]);
}

// Depth-first search; a dependency still on the stack closes a cycle.
const state = new Map(); // file -> 'visiting' | 'done'
const stack = [];
const cycles = [];
function visit(file) {
  state.set(file, 'visiting');
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (state.get(dep) === 'visiting') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (cycles.length) {
  console.error(`check-imports: ${cycles.length} import cycle(s) under src/:`);
  for (const c of cycles) console.error(`  ${c.map((f) => relative(src, f)).join(' -> ')}`);
  process.exit(1);
}
console.log(`check-imports: ${graph.size} modules, no import cycles`);
