/**
 * The import graph of `src/` has no circles: a module never depends, through any chain of static
 * imports (type-only ones included), on itself. A circle usually means a type wants to live one
 * floor lower (see `src/vm/helper-types.ts`, `src/vm/host.ts`). Lazy `import()` calls are not
 * edges: they run after both modules have loaded.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const srcDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(srcDir);

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) files.push(path);
  }
  return files;
}

/** The `.ts` file a relative specifier (`./x.js`, `../y/index.js`, `./z`) names, if it exists. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((path) => {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

/** Static imports and re-exports (`import … from`, `import type …`, `export … from`) of a file. */
export function staticImports(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const targets: string[] = [];
  for (const statement of source.statements) {
    const specifier =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier;
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
    const target = resolveSpecifier(file, specifier.text);
    if (target) targets.push(target);
  }
  return targets;
}

/**
 * The circles of a directed graph: its strongly connected components of more than one node (or a
 * node importing itself), each given as one closed path through it, e.g. `[a, b, c, a]`.
 */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm, iterative: the graph is small, but recursion depth is the import depth.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; edge: number };
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++] as string;
        if (!graph.has(to)) continue;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(to) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent)
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: string[] = [];
      let node: string | undefined;
      do {
        node = stack.pop() as string;
        onStack.delete(node);
        component.push(node);
      } while (node !== frame.node);
      const selfLoop = component.length === 1 && (graph.get(frame.node) ?? []).includes(frame.node);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  }
  return components.map((component) => closedPath(graph, new Set(component)));
}

/** One closed path inside a strongly connected component, found by breadth-first search. */
function closedPath(graph: ReadonlyMap<string, readonly string[]>, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0] as string;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const to of graph.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at))
          path.unshift(at);
        return [start, ...path];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

describe('import graph', () => {
  it('finds a circle in a graph that has one, and none in a tree', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
      ['e', ['e']],
    ]);
    assert.deepEqual(importCycles(cyclic), [
      ['a', 'b', 'c', 'a'],
      ['e', 'e'],
    ]);
    assert.deepEqual(
      importCycles(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
      [],
    );
  });

  it('reads static imports and re-exports, not lazy import() calls', () => {
    const from = join(srcDir, 'vm', 'example.ts');
    const text = [
      "import { Vm } from './vm.js';",
      'import type {',
      '  Helper,',
      "} from './helper-types.js';",
      "export * from './errors.js';",
      "const later = () => import('./interpreter.js');",
      "import { x } from 'node:fs';",
    ].join('\n');
    assert.deepEqual(
      staticImports(from, text).map((path) => relative(srcDir, path)),
      ['vm/vm.ts', 'vm/helper-types.ts', 'vm/errors.ts'],
    );
  });

  it('src/ has no import circles', () => {
    const graph = new Map<string, string[]>();
    for (const file of sourceFiles(srcDir)) graph.set(file, staticImports(file, readFileSync(file, 'utf8')));
    assert.ok(graph.size > 100, `only ${graph.size} modules found under ${srcDir}`);
    const circles = importCycles(graph).map((cycle) => cycle.map((path) => relative(root, path)).join(' → '));
    assert.deepEqual(circles, [], `import circles:\n  ${circles.join('\n  ')}`);
  });
});
