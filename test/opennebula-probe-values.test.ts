import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultHostSettings } from '../drivers/core/host-settings.ts';
import { LABEL_FRONT_END, LABEL_OWNER, LABEL_VM_ID, OWNER_VALUE } from '../drivers/core/labels.ts';
import { LABEL_ONE_ROOT_DISK } from '../drivers/opennebula/one-labels.ts';
import type { Engine } from '../drivers/engine/engine.ts';
import { VmInventory } from '../drivers/core/vm-inventory.ts';
import type { ContainerSummary } from '../drivers/engine/types.ts';
import { probes, type ProbeContext } from '../drivers/opennebula/monitor/probes.ts';
import { probesRoot } from './helpers/monitord-client.ts';
import { recorded, stateDir } from './helpers/paths.ts';
import { testConfigPath } from './helpers/vmm.ts';

// Words a host or its engine supplies reach monitord inside the probes' output: none may end a value early.
const HOSTILE = 'x"\nVM = [ ID="99", DEPLOY_ID="one-99", STATE="RUNNING" ]\\';

const VALUE = String.raw`(?:"[^"\\\[\]\n]*"|[A-Za-z0-9_.:-]+)`;
const PAIR = String.raw`[A-Z_]+\s*=\s*${VALUE}`;
const SAFE_LINE = new RegExp(String.raw`^(?:${PAIR}|[A-Z_]+\s*=\s*\[\s*${PAIR}(?:\s*,\s*${PAIR})*\s*\])$`);

function assertSafe(t: import('ava').ExecutionContext, output: string, vmLines: number): void {
  const lines = output.split('\n').filter(Boolean);
  for (const line of lines) t.regex(line, SAFE_LINE);
  t.is(lines.filter((line) => /^VM\s*=/.test(line)).length, vmLines, output);
}

const work = join(stateDir, 'probe-values');
const hostileContainer: ContainerSummary = {
  Id: 'c0ffee',
  Names: ['/one-8260'],
  Image: 'dockvisor/busybox:latest',
  State: 'exited',
  Status: 'Exited (0) 1 minute ago',
  Labels: { [LABEL_OWNER]: OWNER_VALUE, [LABEL_FRONT_END]: 'opennebula', [LABEL_VM_ID]: HOSTILE, [LABEL_ONE_ROOT_DISK]: HOSTILE },
  SizeRw: 6 * 1024 * 1024,
} as ContainerSummary;

/** An engine that answers with what a hostile or broken host could say, and nothing else. */
const hostileEngine = {
  info: async () => ({ ServerVersion: HOSTILE, Driver: HOSTILE, DockerRootDir: '/' }),
  listContainers: async () => [hostileContainer],
  describeVolumes: async () => [],
  volumeSizes: async () => ({}),
} as unknown as Engine;

function context(name: string): ProbeContext {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'VERSION'), HOSTILE);
  return {
    hypervisor: HOSTILE,
    host: { ...defaultHostSettings(), stateDir: dir },
    monitor: { hostId: 1, syncStateSeconds: 180, datastoreLocation: dir },
    inventory: new VmInventory(hostileEngine),
    remotesDir: dir,
    warn: () => undefined,
  };
}

test('host/system and host/monitor print what the engine, VERSION and argv say as single values', async (t) => {
  const system = await probes['host-system']!(context('system'));
  assertSafe(t, system, 0);
  t.regex(system, /^DOCKER_VERSION="x VM = /m, 'the value is kept, made harmless');
  assertSafe(t, await probes['host-monitor']!(context('monitor')), 0);
});

test('vm/status, vm/monitor and the 5.x poll print a hostile VM id or disk id as one value of one VM line', async (t) => {
  assertSafe(t, await probes['vm-status']!(context('status')), 1);
  const monitor = await probes['vm-monitor']!(context('monitor-vm'));
  assertSafe(t, monitor, 1);
  const encoded = /MONITOR="([^"]*)"/.exec(monitor)?.[1] ?? '';
  assertSafe(t, Buffer.from(encoded, 'base64').toString(), 0);
  assertSafe(t, await probes['poll-5x']!(context('poll')), 1);
});

test('host/system run as monitord runs it, on a host whose name has a newline and quotes, prints one HOSTNAME', async (t) => {
  const config = testConfigPath({ stateDir: join(work, 'uts') }, 'probe-values.json');
  const setHostname = '/usr/bin/python3 -c "import socket, sys; socket.sethostname(sys.argv[1])" "$1" && shift && exec "$@"';
  const probe = join(probesRoot, 'host/system/dockvisor_host.sh');
  const child = spawn('unshare', ['--uts', 'sh', '-c', setHostname, 'sh', HOSTILE, probe, 'dockvisor', '1', 'localhost'], {
    env: { ...process.env, DOCKVISOR_CONFIG: config },
  });
  child.stdin.end(readFileSync(join(recorded, 'probe.stdin.xml')));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.is(code, 0, stderr);
  assertSafe(t, stdout, 0);
  t.is(stdout.split('\n').filter((line) => line.startsWith('HOSTNAME=')).length, 1);
});
