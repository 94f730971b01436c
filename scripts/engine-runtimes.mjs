// Makes the Docker engine's /etc/docker/daemon.json name gVisor's runsc as a runtime, as a host operator would,
// keeping everything else in the file. Prints "changed" when it wrote the file (the engine then needs a SIGHUP).
// runsc gets --network=host: dockvisor plugs a VM's NICs into its network namespace after the sandbox has started,
// and gVisor's own network stack sees only the interfaces present at its start; with the host (namespace's) stack
// it uses the VM's namespace as plugged, NIC hot-plug included.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const path = process.argv[2] ?? '/etc/docker/daemon.json';
const runsc = process.argv[3] ?? '/usr/bin/runsc';
const config = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8') || '{}') : {};
config.runtimes ??= {};
if (config.runtimes.runsc) process.exit(0);
config.runtimes.runsc = { path: runsc, runtimeArgs: ['--network=host'] };
mkdirSync('/etc/docker', { recursive: true });
writeFileSync(`${path}.tmp`, JSON.stringify(config, null, 2) + '\n');
renameSync(`${path}.tmp`, path);
console.log('changed');
