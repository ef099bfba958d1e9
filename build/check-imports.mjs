// The import rules of src/, checked by `npm run lint` and by test/unit/architecture.test.ts:
// no import cycle anywhere, and a command (src/commands/*.ts) imports neither an adapter nor
// another command. Plain Node with no dependency, so it runs wherever the lint runs.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Files in src/commands/ that are not commands but what every command shares: the Command
// shape, the shared flags and the rendering of a change, the flag model, output formats, usage.
export const COMMAND_SUPPORT = new Set(["command.ts", "shared.ts", "flags.ts", "format.ts", "usage.ts"]);

// Static imports and re-exports (`import … from "x"`, `export … from "x"`, `import "x"`) and
// dynamic `import("x")`; a relative specifier is all that matters here.
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The relative specifiers a module's text imports (comments are not read as imports). */
export function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const out = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec?.startsWith(".")) out.push(spec);
  }
  return out;
}

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Module → the modules it imports, every path relative to `root` with `/` separators. */
export function importGraph(root) {
  const graph = new Map();
  for (const file of tsFiles(root)) {
    const from = path.relative(root, file).split(path.sep).join("/");
    const deps = importsOf(readFileSync(file, "utf8")).map((spec) =>
      path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, ".ts"),
    );
    graph.set(from, [...new Set(deps)].sort());
  }
  return graph;
}

/** Every import cycle, each as the list of its modules starting from its smallest name. */
export function findCycles(graph) {
  // Tarjan's strongly connected components: a component of two or more modules, or one that
  // imports itself, is a cycle.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) !== idx.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

const isCommand = (m) => m.startsWith("commands/") && !COMMAND_SUPPORT.has(m.slice("commands/".length));

/** Each import a command makes of an adapter or of another command, as one line. */
export function layerViolations(graph) {
  const out = [];
  for (const [from, deps] of graph) {
    if (!isCommand(from)) continue;
    for (const to of deps) {
      if (to.startsWith("adapters/")) out.push(`${from} imports an adapter: ${to}`);
      else if (isCommand(to) && to !== from) out.push(`${from} imports another command: ${to}`);
    }
  }
  return out.sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "src");
  const graph = importGraph(root);
  const problems = [
    ...findCycles(graph).map((c) => `import cycle: ${c.join(" → ")}`),
    ...layerViolations(graph),
  ];
  for (const p of problems) process.stderr.write(`src/${p}\n`);
  if (problems.length > 0) {
    process.stderr.write(`${problems.length} import rule(s) broken (see the README's Architecture)\n`);
    process.exitCode = 1;
  }
}
