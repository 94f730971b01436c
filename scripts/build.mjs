// Bundles each entry point into remotes/lib/dockvisor/, the directory OpenNebula copies to every host.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const entryPoints = {
  vmm: 'drivers/opennebula/vmm-main.ts',
  demo: 'drivers/cli/demo-main.ts',
};

rmSync('remotes/lib/dockvisor', { recursive: true, force: true });

await build({
  entryPoints,
  outdir: 'remotes/lib/dockvisor',
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
