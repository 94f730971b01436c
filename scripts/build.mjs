// Bundles every file in mains/ under its own name (mains/vmm.ts becomes vmm.mjs). The mains OpenNebula runs, listed
// in packaging/remotes-bundles.json, go into remotes/lib/dockvisor/, the directory OpenNebula copies to every host;
// every other main (the dockvisor command, the demo) into build/<name>/, built apart, so that what only it needs
// (the compute service, fastify, yargs, ssh2) never goes to the hosts.
// Each directory of bundles is replaced in one rename, so a process started meanwhile never finds its bundle missing.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { build } from 'esbuild';

const mains = readdirSync('mains').map((file) => basename(file, '.ts'));
const remotesBundles = JSON.parse(readFileSync('packaging/remotes-bundles.json', 'utf8'));
const unknown = remotesBundles.filter((name) => !mains.includes(name));
if (unknown.length) throw new Error(`packaging/remotes-bundles.json: no ${unknown.map((name) => `mains/${name}.ts`).join(', ')}`);

await Promise.all([
  bundle(remotesBundles, 'remotes/lib/dockvisor'),
  ...mains.filter((name) => !remotesBundles.includes(name)).map((name) => bundle([name], `build/${name}`)),
]);

/**
 * remotes/lib/dockvisor/VERSION: the release and a digest of the bundles, what a resident part (the front-end's
 * connection keeper) compares with the remotes of the actions it serves, so that one left from before an upgrade
 * (or an `onehost sync`) is not used. OpenNebula's own remotes/VERSION is left alone.
 */
function writeRemotesVersion(dir) {
  const digest = createHash('sha256');
  const walk = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else digest.update(`${relative(dir, child)}\0`).update(readFileSync(child));
    }
  };
  walk(dir);
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
  writeFileSync(join(dir, 'VERSION'), `${version}+${digest.digest('hex').slice(0, 16)}\n`);
}

/**
 * The remotes' bundles are `<name>-main.mjs`, started through `<name>.mjs`, which first turns on node's compile
 * cache (drivers/runtime/compile-cache.ts), so that the bundle and its chunks load from compiled code.
 */
function writeCachedStarts(names, dir) {
  for (const name of names) {
    writeFileSync(join(dir, `${name}.mjs`), `// Made by scripts/build.mjs.\nimport './compile-cache.mjs';\nawait import('./${name}-main.mjs');\n`);
  }
}

async function bundle(names, target) {
  const staging = `${target}.new-${process.pid}`;
  const remotes = target === 'remotes/lib/dockvisor';
  await build({
    entryPoints: remotes
      ? { ...Object.fromEntries(names.map((name) => [`${name}-main`, `mains/${name}.ts`])), 'compile-cache': 'drivers/runtime/compile-cache.ts' }
      : Object.fromEntries(names.map((name) => [name, `mains/${name}.ts`])),
    outdir: staging,
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    define: { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    // ssh2 falls back to pure JavaScript crypto when its optional native parts are absent.
    external: ['*.node', 'cpu-features'],
    logLevel: 'warning',
  });
  if (remotes) {
    writeCachedStarts(names, staging);
    writeRemotesVersion(staging);
  }
  const retired = `${target}.old-${process.pid}`;
  try {
    renameSync(target, retired);
  } catch {
    // first build
  }
  renameSync(staging, target);
  rmSync(retired, { recursive: true, force: true });
}
