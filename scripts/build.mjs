// Bundles every file in mains/, each under its own name (mains/vmm.ts becomes vmm.mjs), into remotes/lib/dockvisor/,
// the directory OpenNebula copies to every host.
// The new bundles replace the old ones in one rename, so a driver started meanwhile never finds them missing.
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { build } from 'esbuild';

const target = 'remotes/lib/dockvisor';
const staging = `${target}.new-${process.pid}`;
const entryPoints = Object.fromEntries(readdirSync('mains').map((file) => [basename(file, '.ts'), `mains/${file}`]));

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
