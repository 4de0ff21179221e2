/**
 * The floors of docs/architecture.md, checked on the source: a module imports only from its own
 * floor or the floors below it, and no chain of runtime imports comes back to where it started.
 * A failure names the importing file, the imported one and both floors.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');

/** Lowest first. A module may import its own floor and anything listed before it. */
const FLOORS: readonly (readonly string[])[] = [
  ['errors.ts'],
  ['sql'],
  ['config'],
  ['source'],
  ['drivers'],
  ['lint'],
  ['safety'],
  ['core'],
  ['wrangler', 'environments'],
  ['replay'],
  ['evolve'],
  ['fleet', 'report', 'codegen', 'testing'],
  ['cairn.ts', 'index.ts'],
  ['cli'],
];

/** Floors that must not ask which database they talk to: they read driver capabilities instead. */
const ENGINE_NEUTRAL = ['core', 'replay', 'safety', 'environments'];

interface Import {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** A file whose whole body is `export * from '…'`: the old address of a moved module. */
function isForwarder(text: string): boolean {
  return text.split('\n').every((line) => line.trim() === '' || line.startsWith('//') || line.startsWith('export * from'));
}

const IMPORT = /^(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm;
const DYNAMIC = /import\(\s*'(\.[^']+)'\s*\)/g;

function importsOf(file: string, text: string): Import[] {
  const found: Import[] = [];
  const add = (spec: string, typeOnly: boolean) =>
    found.push({ from: file, to: resolve(dirname(file), spec.replace(/\.js$/, '.ts')), typeOnly });
  for (const m of text.matchAll(IMPORT)) add(m[3]!, m[2] !== undefined);
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, false);
  return found;
}

function floorOf(file: string): { index: number; name: string } {
  const top = relative(SRC, file).split('/')[0]!;
  const index = FLOORS.findIndex((floor) => floor.includes(top));
  return { index, name: top };
}

const files = sourceFiles(SRC);
const texts = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const forwarders = new Set(files.filter((f) => isForwarder(texts.get(f)!)));
/** Through a forwarder to the module it forwards to. */
function settle(target: string): string {
  if (!forwarders.has(target)) return target;
  const m = /export \* from '([^']+)'/.exec(texts.get(target)!);
  return settle(resolve(dirname(target), m![1]!.replace(/\.js$/, '.ts')));
}
const imports = files
  .filter((f) => !forwarders.has(f))
  .flatMap((f) => importsOf(f, texts.get(f)!))
  .map((i) => ({ ...i, to: settle(i.to) }));

describe('layers', () => {
  it('every top-level folder of src/ has a floor', () => {
    const tops = [...new Set(files.map((f) => relative(SRC, f).split('/')[0]!))];
    expect(tops.filter((t) => floorOf(join(SRC, t)).index < 0)).toEqual([]);
  });

  it('imports point down the floors, never up', () => {
    const upward = imports
      .filter((i) => floorOf(i.to).index > floorOf(i.from).index)
      .map((i) => `${relative(SRC, i.from)} (${floorOf(i.from).name}) imports ${relative(SRC, i.to)} (${floorOf(i.to).name})`);
    expect(upward).toEqual([]);
  });

  it('no runtime import cycle', () => {
    const edges = new Map<string, string[]>();
    for (const i of imports) if (!i.typeOnly) edges.set(i.from, [...(edges.get(i.from) ?? []), i.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const to of edges.get(f) ?? []) {
        if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to].map((x) => relative(SRC, x)).join(' → '));
        else if (!state.has(to)) visit(to);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('engine-neutral floors branch on capabilities, not on a database name or URL scheme', () => {
    const asks = /\b(dialect|scheme|kind|flavor\.name)\s*[!=]==\s*'(sqlite|postgres|pglite|d1|postgresql)'|'(postgres|postgresql|sqlite|d1|pglite):'|startsWith\('(postgres|sqlite|d1|file|pglite)/;
    const offenders = files
      .filter((f) => ENGINE_NEUTRAL.includes(floorOf(f).name) && !forwarders.has(f))
      .flatMap((f) =>
        texts
          .get(f)!
          .split('\n')
          .map((line, n) => ({ line, n }))
          .filter(({ line }) => asks.test(line))
          .map(({ line, n }) => `${relative(SRC, f)}:${n + 1}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });
});
