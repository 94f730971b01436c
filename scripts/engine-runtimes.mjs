// Makes the Docker engine's /etc/docker/daemon.json name the OCI runtimes given as name=path (gVisor's runsc, crun),
// as a host operator would, keeping everything else in the file. Prints "changed" when it wrote the file (the engine
// then needs a SIGHUP). runsc gets --network=host: dockvisor plugs a VM's NICs into its network namespace after the
// sandbox has started, and gVisor's own network stack sees only the interfaces present at its start; with the host
// (namespace's) stack it uses the VM's namespace as plugged, NIC hot-plug included.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const RUNTIME_ARGS = { runsc: ['--network=host'] };

const [path = '/etc/docker/daemon.json', ...runtimes] = process.argv.slice(2);
const config = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8') || '{}') : {};
config.runtimes ??= {};
let changed = false;
for (const runtime of runtimes) {
  const [name, binary] = runtime.split('=');
  if (!name || !binary || config.runtimes[name]) continue;
  config.runtimes[name] = { path: binary, ...(RUNTIME_ARGS[name] ? { runtimeArgs: RUNTIME_ARGS[name] } : {}) };
  changed = true;
}
if (!changed) process.exit(0);
mkdirSync('/etc/docker', { recursive: true });
writeFileSync(`${path}.tmp`, JSON.stringify(config, null, 2) + '\n');
renameSync(`${path}.tmp`, path);
console.log('changed');
