// The floors of src/ (docs/architecture.md), kept true: each file imports only
// from its own floor or the floors below it, and no files import each other
// in a circle. Type-only imports count: a circle of types is a circle of ideas.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Lowest first. The base floor holds what every room may use. */
const FLOORS = [
  ['errors.ts', 'log.ts', 'types'],
  ['net'],
  ['crypto'],
  ['dataplane'],
  ['ipam'],
  ['state'],
  ['mesh'],
  ['subnet'],
  ['dns'],
  ['host'],
  ['config'],
  ['docker'],
  ['api'],
  ['daemon'],
  ['cni'],
  ['lab'],
  ['cli'],
];

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

function floorOf(file: string): number {
  const room = relative(SRC, file).split('/')[0];
  const floor = FLOORS.findIndex((rooms) => rooms.includes(room));
  if (floor < 0) throw new Error(`${relative(SRC, file)} is in no floor: add its folder to FLOORS and docs/architecture.md`);
  return floor;
}

/** Every module a file names in `import … from`, `export … from` or `import(…)`, resolved to a source file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('source layering', () => {
  it('finds the imports it checks', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get(join(SRC, 'daemon/daemon.ts'))).toContain(join(SRC, 'dataplane/openDataplane.ts'));
  });

  it('imports only downwards', () => {
    const upwards: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        if (floorOf(target) > floorOf(file)) upwards.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upwards).toEqual([]);
  });

  it('has no import circles', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(SRC, f)).join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(circles).toEqual([]);
  });
});
