import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../src/shared/paths.js';

/*
 * Which way imports run in src/. The gym is built in layers, lowest first; a file may import its own layer and those
 * below it, never one above, so a change to a lower layer never has to know who sits on it. Next to the gym, the
 * shared parts (src/shared/) are what the gym and the pool both run, and import only each other; the pool (src/pool/)
 * imports only itself and the shared parts; the commands of src/cli/ may use anything. Every import counts,
 * `import type` too: a type import is a place that has to change when the type does, and a circle of type imports is
 * still a circle.
 */

/** The gym's layers, lowest first. A file takes the first layer whose pattern it matches. */
const GYM_LAYERS: readonly { name: string; files: RegExp }[] = [
  { name: 'configuration', files: /^src\/(config\.ts|config\/|ids\.ts)/ },
  // The events between the gym's processes travel on the pub/sub that goes with the database (LISTEN/NOTIFY on
  // PostgreSQL), and the services publish them: storage, though they sit in live/ beside the sockets that listen.
  { name: 'storage', files: /^src\/(db\/|live\/(pubsub|pg-pubsub|events)\.ts$)/ },
  { name: 'credentials', files: /^src\/auth\// },
  { name: 'services', files: /^src\/services\// },
  { name: 'resolvers and schema', files: /^src\/(resolvers\/|schema\.ts$|context\.ts$|__generated__\/resolvers-types\.ts$)/ },
  { name: 'transports', files: /^src\/(live|oidc)\// },
  { name: 'app', files: /^src\/app\.ts$/ },
  { name: 'main', files: /^src\/(main|workers|seed)\.ts$/ },
];

const SHARED = /^src\/shared\//;
const POOL = /^src\/(pool\/|__generated__\/pool-resolvers-types\.ts$)/;
const TOOLS = /^src\/cli\//;

/**
 * Imports that still run the wrong way, each with what removes it. The list only shrinks: an entry that is no longer
 * needed fails the test until it is taken out.
 */
const KNOWN_EXCEPTIONS: Readonly<Record<string, string>> = {}; // none today

type Part = { kind: 'gym'; layer: number } | { kind: 'shared' | 'pool' | 'tools' | 'unplaced' };

function partOf(file: string): Part {
  if (SHARED.test(file)) return { kind: 'shared' };
  if (POOL.test(file)) return { kind: 'pool' };
  if (TOOLS.test(file)) return { kind: 'tools' };
  const layer = GYM_LAYERS.findIndex((l) => l.files.test(file));
  return layer >= 0 ? { kind: 'gym', layer } : { kind: 'unplaced' };
}

function describePart(part: Part): string {
  return part.kind === 'gym' ? `the gym's ${GYM_LAYERS[part.layer]!.name}` : part.kind;
}

/** Why a file of `source` may not import one of `target`, or null when it may. */
function wrongWay(source: Part, target: Part): string | null {
  if (source.kind === 'tools' || target.kind === 'shared') return null;
  if (source.kind === 'pool' && target.kind === 'pool') return null;
  if (source.kind === 'gym' && target.kind === 'gym' && target.layer <= source.layer) return null;
  return `${describePart(source)} imports ${describePart(target)}`;
}

/** The module one node names, if it is an import or re-export (type-only too), an `import()` call or type. */
function specifierOf(node: ts.Node): ts.StringLiteralLike | undefined {
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
    return node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier : undefined;
  }
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
    const [argument] = node.arguments;
    return argument && ts.isStringLiteralLike(argument) ? argument : undefined;
  }
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
    return node.argument.literal;
  }
  return undefined;
}

/** Every module a file names: imports and re-exports (type-only too), `import()` calls and `import('...')` types. */
function specifiersOf(file: string, text: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    const named = specifierOf(node);
    if (named) found.push(named.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  return found;
}

/** The import graph of a set of sources (path → text): each file's imports of the others, and what did not resolve. */
function importGraph(sources: ReadonlyMap<string, string>): { edges: Map<string, Set<string>>; unresolved: string[] } {
  const edges = new Map<string, Set<string>>();
  const unresolved: string[] = [];
  for (const [file, text] of sources) {
    const targets = new Set<string>();
    for (const specifier of specifiersOf(file, text)) {
      if (!specifier.startsWith('.')) continue;
      const target = path.posix.join(path.posix.dirname(file), specifier).replace(/\.js$/, '.ts');
      if (sources.has(target)) targets.add(target);
      else unresolved.push(`${file} -> ${specifier}`);
    }
    edges.set(file, targets);
  }
  return { edges, unresolved };
}

/** The circles of a graph: each strongly connected part of more than one file (or a file importing itself), sorted. */
function circlesOf(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's algorithm: one depth-first walk, each file's lowest reachable index on the stack marks its part's root.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const circles: string[][] = [];
  const walk = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (!index.has(next)) {
        walk(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const part = stack.splice(stack.indexOf(file));
    if (part.length > 1 || edges.get(file)?.has(file)) circles.push(part.sort());
  };
  for (const file of edges.keys()) if (!index.has(file)) walk(file);
  return circles;
}

/** Every import that runs the wrong way, as `from -> to: why`, and every file in no layer, as `file: why`. */
function wrongWayImports(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const found: string[] = [];
  for (const [from, targets] of edges) {
    const source = partOf(from);
    if (source.kind === 'unplaced') {
      found.push(`${from}: in no layer; place it in GYM_LAYERS`);
      continue;
    }
    for (const to of targets) {
      const why = wrongWay(source, partOf(to));
      if (why) found.push(`${from} -> ${to}: ${why}`);
    }
  }
  return found;
}

/** Every file `start` reaches through its imports, itself included. */
function reachedFrom(edges: ReadonlyMap<string, ReadonlySet<string>>, start: string): Set<string> {
  const reached = new Set<string>();
  const next = [start];
  for (let file = next.pop(); file !== undefined; file = next.pop()) {
    if (reached.has(file)) continue;
    reached.add(file);
    next.push(...(edges.get(file) ?? []));
  }
  return reached;
}

/** Every TypeScript file under src/, by its path from the repository's root. */
function sourcesOfSrc(): Map<string, string> {
  const sources = new Map<string, string>();
  for (const entry of readdirSync(path.join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })) {
    const file = path.posix.join('src', entry.split(path.sep).join('/'));
    if (file.endsWith('.ts')) sources.set(file, readFileSync(path.join(ROOT, file), 'utf8'));
  }
  return sources;
}

/** `from -> to` of a finding, without its reason. */
const importOf = (finding: string) => finding.slice(0, finding.indexOf(': '));

describe('the import graph of src/', () => {
  const { edges, unresolved } = importGraph(sourcesOfSrc());

  it('resolves every relative import to a file under src/', () => {
    expect(edges.size).toBeGreaterThan(100);
    expect(unresolved).toEqual([]);
  });

  it('has no circle', () => {
    expect(circlesOf(edges)).toEqual([]);
  });

  it('runs one way: no layer imports one above it, the pool only the shared parts, the shared parts only each other', () => {
    const found = wrongWayImports(edges).filter((finding) => !(importOf(finding) in KNOWN_EXCEPTIONS));
    expect(found).toEqual([]);
  });

  it('keeps in src/shared/ only what the gym and the pool both run', () => {
    const gym = reachedFrom(edges, 'src/main.ts');
    const pool = reachedFrom(edges, 'src/pool/main.ts');
    const shared = [...edges.keys()].filter((file) => SHARED.test(file));
    expect(shared.length).toBeGreaterThan(10);
    expect(shared.filter((file) => !gym.has(file) || !pool.has(file))).toEqual([]);
  });

  it('still needs every known exception: one that is gone comes off the list', () => {
    const present = new Set(wrongWayImports(edges).map(importOf));
    expect(Object.keys(KNOWN_EXCEPTIONS).filter((exception) => !present.has(exception))).toEqual([]);
  });
});

describe('the import checks', () => {
  // The circle and the wrong-way imports this layout once had, with a re-export, an `import()` type and call among them.
  const planted = new Map([
    ['src/config.ts', "import type { LiveLimits } from './live/server.js';\nexport interface Config { live: LiveLimits }"],
    ['src/live/server.ts', "import { createSocketContext } from '../context.js';\nexport interface LiveLimits { max: number }"],
    ['src/context.ts', "import type { Config } from './config.js';\nexport function createSocketContext() {}"],
    ['src/shared/cost-limit.ts', "export type Page = import('../services/pagination.js').Page;"],
    ['src/services/pagination.ts', 'export type Page = number;'],
    ['src/pool/app.ts', "export { loadConfig } from '../config.js';\nimport '../shared/missing.js';"],
    ['src/server.ts', "import './app.js';"],
    ['src/app.ts', "export const start = () => import('./main.js');"],
    ['src/main.ts', ''],
  ]);
  const { edges, unresolved } = importGraph(planted);

  it('find a circle, type imports included', () => {
    expect(circlesOf(edges)).toEqual([['src/config.ts', 'src/context.ts', 'src/live/server.ts']]);
  });

  it('find imports that run up a layer or out of the shared parts and the pool, and a file in no layer', () => {
    expect(wrongWayImports(edges).sort()).toEqual([
      "src/app.ts -> src/main.ts: the gym's app imports the gym's main",
      "src/config.ts -> src/live/server.ts: the gym's configuration imports the gym's transports",
      "src/pool/app.ts -> src/config.ts: pool imports the gym's configuration",
      'src/server.ts: in no layer; place it in GYM_LAYERS',
      "src/shared/cost-limit.ts -> src/services/pagination.ts: shared imports the gym's services",
    ]);
    expect(unresolved).toEqual(['src/pool/app.ts -> ../shared/missing.js']);
  });
});
