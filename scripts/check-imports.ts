// The import boundaries the Layout section of README.md describes, checked over the relative imports of every
// TypeScript file (`npm run check:imports`, and `npm test` before ava). One line per violation; exit 1 if any.
//
// A package is a folder under drivers/ (drivers/core, drivers/images, ...) or a top-level folder (mains, test, ...).
//   leaves:    drivers/ssh (known_hosts checking, shared by the engine's SSH transport and drivers/hosts) and
//              drivers/streams (the stall timer of the engine's and the registry's HTTP clients) import no other
//              package: they sit below the engine.
//   core:      drivers/core imports no other package but drivers/engine and the leaves below it.
//   engine:    outside drivers/engine and drivers/core, no production file (drivers/, mains/) imports drivers/engine,
//              but for the exceptions listed below with their reason.
//   platform:  drivers/images and drivers/hosts import no platform (drivers/opennebula, drivers/nova) and nothing above.
//   one home:  only drivers/opennebula, the CLI (drivers/cli, which wires the platforms together), mains/, test/ and
//              bench/ import drivers/opennebula.
//   cycles:    no import cycle between packages.
// The exceptions that remain are listed below, each with its reason; one that is no longer needed is a violation too.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files outside drivers/engine and drivers/core that still import the engine, each with its reason: none today. */
export const ENGINE_EXCEPTIONS: Record<string, string> = {};

const LEAVES = ['drivers/ssh', 'drivers/streams'];
const PLATFORMS = ['drivers/opennebula', 'drivers/nova'];
const OPENNEBULA_USERS = ['drivers/opennebula', 'drivers/cli', 'mains', 'test', 'bench'];
const ROOTS = ['mains', 'drivers', 'test', 'bench', 'scripts', 'packaging', 'remotes'];

/** drivers/<name> for a file under drivers/, else its top-level folder. */
export function packageOf(file: string): string {
  const parts = file.split('/');
  return parts[0] === 'drivers' && parts.length > 2 ? `drivers/${parts[1]}` : (parts[0] ?? file);
}

/** The repository paths a file imports by relative specifier (static, re-exports and dynamic imports). */
export function importsOf(file: string, source: string): string[] {
  const specs: string[] = [];
  const statement = /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const match of source.matchAll(statement)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (spec?.startsWith('.')) specs.push(normalize(join(dirname(file), spec)));
  }
  return specs;
}

const under = (file: string, pkg: string) => file === pkg || file.startsWith(`${pkg}/`);

/** One line per violation in `files` (repository path to source text). */
export function checkImports(files: Map<string, string>): string[] {
  const violations: string[] = [];
  const edges = new Map<string, Map<string, string>>(); // package -> imported package -> one file import as witness
  const usedExceptions = new Set<string>();
  for (const [file, source] of files) {
    const from = packageOf(file);
    for (const target of importsOf(file, source)) {
      const to = packageOf(target);
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, `${file} -> ${target}`);
      const line = (rule: string) => violations.push(`${file}: imports ${target} (${rule})`);
      if (LEAVES.includes(from)) line(`${from} imports no other package`);
      if (from === 'drivers/core' && to !== 'drivers/engine' && !LEAVES.includes(to)) line('the core imports no adapter or platform');
      if (to === 'drivers/engine' && from !== 'drivers/core' && (from.startsWith('drivers/') || from === 'mains')) {
        if (ENGINE_EXCEPTIONS[file]) usedExceptions.add(file);
        else line('only drivers/engine and drivers/core import the engine');
      }
      if ((from === 'drivers/images' || from === 'drivers/hosts') && (PLATFORMS.includes(to) || to === 'drivers/machine' || to === 'drivers/cli')) {
        line(`${from} imports no platform`);
      }
      if (to === 'drivers/opennebula' && !OPENNEBULA_USERS.some((pkg) => under(file, pkg))) {
        line('only the OpenNebula adapter knows OpenNebula');
      }
    }
  }
  for (const file of Object.keys(ENGINE_EXCEPTIONS)) {
    if (files.has(file) && !usedExceptions.has(file))
      violations.push(`${file}: listed as an exception but no longer needs it (remove it from scripts/check-imports.ts)`);
  }
  for (const cycle of packageCycles(edges)) {
    const witnesses = cycle.map((pkg, i) => edges.get(pkg)!.get(cycle[(i + 1) % cycle.length]!)!);
    violations.push(`import cycle between packages ${[...cycle, cycle[0]].join(' -> ')} (${witnesses.join('; ')})`);
  }
  return violations;
}

/** Each strongly connected group of more than one package, as one cycle through it. */
function packageCycles(edges: Map<string, Map<string, string>>): string[][] {
  const cycles: string[][] = [];
  const reported = new Set<string>();
  for (const start of [...edges.keys()].sort()) {
    if (reported.has(start)) continue;
    const path = findPath(edges, start, start);
    if (path) {
      cycles.push(path);
      for (const pkg of path) reported.add(pkg);
    }
  }
  return cycles;
}

/** A shortest path of packages from `from` back to `to` (breadth first), without repeating `to` at its end. */
function findPath(edges: Map<string, Map<string, string>>, from: string, to: string): string[] | undefined {
  const previous = new Map<string, string>();
  const queue = [from];
  while (queue.length) {
    const pkg = queue.shift()!;
    for (const next of [...(edges.get(pkg)?.keys() ?? [])].sort()) {
      if (next === to) {
        const path = [pkg];
        while (path[0] !== from) path.unshift(previous.get(path[0]!)!);
        return path;
      }
      if (!previous.has(next) && next !== from) {
        previous.set(next, pkg);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/** Every TypeScript file of the repository under `root`, by repository path (built bundles and modules left out). */
export function repositoryFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'fixtures' && path !== 'remotes/lib') walk(path);
      } else if (/\.(ts|mts)$/.test(entry.name)) files.set(path, readFileSync(join(root, path), 'utf8'));
    }
  };
  for (const dir of ROOTS) {
    try {
      walk(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const violations = checkImports(repositoryFiles(join(dirname(fileURLToPath(import.meta.url)), '..')));
  for (const line of violations) console.error(line);
  if (violations.length) process.exit(1);
  console.log('import boundaries: ok');
}
