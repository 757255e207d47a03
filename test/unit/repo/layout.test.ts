import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The house rules of docs/DESIGN.md section 6: lib/ is what Lambda runs, cut into folders by the
// stage of the data path; each folder's index.ts is its public face; the engine imports nothing
// but itself; no folder depends on one that depends on it; and nothing in lib/ is there only for
// local tooling.

const ROOT = path.resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|cjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every relative import of `file`, resolved to a repository path. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import\(|tsImport\()\s*'(\.{1,2}\/[^']+)'/g)].map(
    (m) => m[1] as string,
  );
  return specs.map((spec) => path.normalize(path.join(path.dirname(file), spec)));
}

/** The lib/ folder a file belongs to; a file at the top of lib/ (config.ts, errors.ts...) is its own. */
const libFolder = (file: string): string | undefined => {
  const parts = file.split('/');
  if (parts[0] !== 'lib') return undefined;
  return parts.length > 2 ? `lib/${parts[1]}` : file;
};

const ALL = ['functions', 'lib', 'offline', 'reference', 'scripts', 'test', 'deploy'].flatMap(sources);
const LIB = ALL.filter((f) => f.startsWith('lib/'));

describe('the layout', () => {
  it('reaches into a lib/ folder only through its index.ts', () => {
    const past = ALL.flatMap((file) =>
      importsOf(file)
        .filter((target) => {
          const folder = libFolder(target);
          // A file at the top of lib/ (config.ts, errors.ts, log.ts...) is imported as it is.
          if (folder === undefined || folder === target) return false;
          return folder !== libFolder(file) && !target.endsWith('/index.ts');
        })
        .map((target) => `${file} -> ${target}`),
    );
    expect(past).toEqual([]);
  });

  it('keeps the engine pure: it imports nothing outside lib/engine/', () => {
    const out = LIB.filter((f) => f.startsWith('lib/engine/')).flatMap((file) =>
      importsOf(file)
        .filter((t) => !t.startsWith('lib/engine/'))
        .map((t) => `${file} -> ${t}`),
    );
    const packages = LIB.filter((f) => f.startsWith('lib/engine/')).filter((f) =>
      /from '(?!\.)/.test(readFileSync(path.join(ROOT, f), 'utf8')),
    );
    expect(out).toEqual([]);
    expect(packages).toEqual([]);
  });

  it('has no cycle between lib/ folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of LIB) {
      const from = libFolder(file) as string;
      for (const target of importsOf(file)) {
        const to = libFolder(target);
        if (to === undefined || to === from) continue;
        edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]): void => {
      if (trail.includes(node)) {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' -> '));
        return;
      }
      for (const next of edges.get(node) ?? []) visit(next, [...trail, node]);
    };
    for (const node of edges.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  it('holds in lib/ only what the functions run', () => {
    const reached = new Set<string>();
    const walk = (file: string): void => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const target of importsOf(file)) {
        const resolved = ALL.includes(target) ? target : undefined;
        if (resolved !== undefined) walk(resolved);
      }
    };
    for (const handler of sources('functions')) walk(handler);
    expect(LIB.filter((f) => !reached.has(f) && !f.endsWith('.sql'))).toEqual([]);
  });
});
