// Installs dockvisor's pinned Node.js runtime for this machine into a directory (default /usr/lib/dockvisor/node),
// unless it is there already: what setup does for the tests, the demo and the benchmarks.
//   node --import tsx scripts/install-runtime.ts [DIR]
import { installRuntime, runtimeArch, runtimeIsInstalled, RUNTIME_VERSION, SYSTEM_RUNTIME_DIR } from '../drivers/runtime/runtime.ts';

const dir = process.argv[2] ?? SYSTEM_RUNTIME_DIR;
const arch = runtimeArch(process.arch);
if (!arch) {
  process.stderr.write(`install-runtime: no Node.js runtime is shipped for ${process.arch}\n`);
  process.exit(1);
}
if (!(await runtimeIsInstalled(dir, arch))) {
  process.stderr.write(`setup: installing Node.js ${RUNTIME_VERSION} (${arch}) into ${dir}\n`);
  await installRuntime(dir, arch);
}
