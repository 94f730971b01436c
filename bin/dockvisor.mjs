#!/usr/bin/env node
// The `dockvisor` command of a checkout or an installed package: runs the bundled CLI, building it first when
// a fresh checkout has not been built yet.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = new URL('../build/cli/cli.mjs', import.meta.url);
if (!existsSync(bundle)) {
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) {
    process.stderr.write('dockvisor: the CLI is not built and building it failed (run `npm ci` first)\n');
    process.exit(1);
  }
}
await import(bundle.href);
