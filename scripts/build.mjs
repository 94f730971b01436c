// Bundles each entry point into remotes/lib/dockvisor/, the directory OpenNebula copies to every host.
// The new bundles replace the old ones in one rename, so a driver started meanwhile never finds them missing.
import { renameSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const target = 'remotes/lib/dockvisor';
const staging = `${target}.new-${process.pid}`;
const entryPoints = {
  vmm: 'drivers/opennebula/vmm-main.ts',
  im: 'drivers/opennebula/monitor/probe-main.ts',
  datastore: 'datastore/opennebula/ds-main.ts',
  tm: 'datastore/opennebula/tm-main.ts',
  demo: 'drivers/cli/demo-main.ts',
  cli: 'drivers/cli/dockvisor-main.ts',
};

await build({
  entryPoints,
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

const retired = `${target}.old-${process.pid}`;
try {
  renameSync(target, retired);
} catch {
  // first build
}
renameSync(staging, target);
rmSync(retired, { recursive: true, force: true });
