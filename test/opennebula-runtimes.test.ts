import test from 'ava';
import { connect } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { runProbe, probesRoot } from './helpers/monitord-client.ts';
import { createBridge, deleteBridge, hostPings } from './helpers/net.ts';
import { recorded } from './helpers/paths.ts';
import { testIds } from './helpers/test-ids.ts';
import { actionXml, deployArgv, macFor, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { assertOneLineRefusal, runAction, testConfigPath } from './helpers/vmm.ts';

// A VM under another OCI runtime of the engine: gVisor's runsc and crun, which setup registers with the engine as a
// host operator would (scripts/engine-runtimes.mjs). Only runtimes the host config allows may be asked for.
const ids = testIds(import.meta.filename);
const GVISOR = ids.vm(0);
const REFUSED = ids.vm(1);
const UNKNOWN = ids.vm(2);
const CRUN = ids.vm(3);
const first = ids.bridge('0');
const second = ids.bridge('1');
const allowing = testConfigPath({ allow: { runtimes: ['runsc', 'crun', 'no-such-runtime'] } }, 'runtimes.json');
const server = `sh -c 'echo data-from-the-sandbox > /root/data; while true; do nc -l -p 7000 < /root/data; done'`;
const gvisor: VmDraft = {
  id: GVISOR,
  dockvisor: { RUNTIME: 'runsc', CMD: server },
  nics: [{ nicId: 0, bridge: first, ip: ids.address(0, 11), mask: '255.255.255.0' }],
};

/** What a TCP connection to the VM reads before the VM closes it. */
function readFrom(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = connect({ host, port: 7000, timeout: 5000 });
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('timeout', () => socket.destroy(new Error(`no answer from ${host}`)));
    socket.on('error', reject);
  });
}

async function readWhenUp(host: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await readFrom(host);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

test.before(async () => {
  await removeContainersOf(await realEngine(), [GVISOR, REFUSED, UNKNOWN, CRUN]);
  createBridge(first, ids.cidr(0, 1));
  createBridge(second, ids.cidr(1, 1));
});
test.after.always(async () => {
  await removeContainersOf(await realEngine(), [GVISOR, REFUSED, UNKNOWN, CRUN]);
  deleteBridge(first);
  deleteBridge(second);
});

test.serial('a VM asks for gVisor: its container runs under runsc and its NIC carries TCP to the sandboxed process', async (t) => {
  const deployed = await runAction('deploy', deployArgv(GVISOR), vmXml(gvisor), allowing);
  t.is(deployed.code, 0, deployed.stderr);
  const { HostConfig } = await (await realEngine()).inspectContainer(`one-${GVISOR}`);
  t.is(HostConfig.Runtime, 'runsc');
  t.is((await readWhenUp(ids.address(0, 11))).trim(), 'data-from-the-sandbox');
});

test.serial('a NIC hot-plugged into the gVisor VM carries traffic too', async (t) => {
  const nic = { nicId: 1, bridge: second, ip: ids.address(1, 11), mask: '255.255.255.0', attach: true };
  const withNic: VmDraft = { ...gvisor, nics: [...gvisor.nics!, nic] };
  const argv = [`one-${GVISOR}`, macFor(GVISOR, 1), second, '-', 'bridge', `one-${GVISOR}-1`, String(GVISOR), 'localhost'];
  const attached = await runAction('attach_nic', argv, actionXml(withNic), allowing);
  t.is(attached.code, 0, attached.stderr);
  t.is((await readWhenUp(ids.address(1, 11))).trim(), 'data-from-the-sandbox');
});

test.serial('a VM asks for crun: its container runs under crun with its memory limit, and its NIC carries ping and TCP', async (t) => {
  const draft: VmDraft = {
    id: CRUN,
    memory: '96',
    dockvisor: { RUNTIME: 'crun', CMD: server },
    nics: [{ nicId: 0, bridge: first, ip: ids.address(0, 12), mask: '255.255.255.0' }],
  };
  const deployed = await runAction('deploy', deployArgv(CRUN), vmXml(draft), allowing);
  t.is(deployed.code, 0, deployed.stderr);
  const { Id, HostConfig } = await (await realEngine()).inspectContainer(`one-${CRUN}`);
  t.is(HostConfig.Runtime, 'crun');
  const limit = readFileSync(`/sys/fs/cgroup/memory/docker/${Id}/memory.limit_in_bytes`, 'utf8');
  t.is(Number(limit), 96 * 1024 * 1024, 'crun put the VM in its memory cgroup with its limit');
  t.is((await readWhenUp(ids.address(0, 12))).trim(), 'data-from-the-sandbox');
  t.true(hostPings(ids.address(0, 12)), 'the VM answers ping on its NIC');
});

test.serial('a runtime the host config does not allow, or the engine does not have, is refused with one line and nothing made', async (t) => {
  const plain = testConfigPath({}, 'runtimes-none.json');
  assertOneLineRefusal(
    t,
    await runAction('deploy', deployArgv(REFUSED), vmXml({ id: REFUSED, dockvisor: { RUNTIME: 'runsc' } }), plain),
    /runtime runsc is not allowed by this host's configuration/,
  );
  assertOneLineRefusal(
    t,
    await runAction('deploy', deployArgv(UNKNOWN), vmXml({ id: UNKNOWN, dockvisor: { RUNTIME: 'no-such-runtime' } }), allowing),
    /no-such-runtime/,
  );
  for (const hostile of ['runc; rm -rf /', '../runsc', '-runsc']) {
    assertOneLineRefusal(
      t,
      await runAction('deploy', deployArgv(REFUSED), vmXml({ id: REFUSED, dockvisor: { RUNTIME: hostile } }), allowing),
      /RUNTIME|runtime/,
    );
  }
  const engine = await realEngine();
  t.is(await engine.findContainer(`one-${REFUSED}`), undefined);
  t.is(await engine.findContainer(`one-${UNKNOWN}`), undefined);
});

test.serial("host/system names the engine's runtimes, so that SCHED_REQUIREMENTS can pick a host that has one", async (t) => {
  const config = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');
  const result = await runProbe(join(probesRoot, 'host/system/dockvisor_host.sh'), config, { ...process.env, DOCKVISOR_CONFIG: allowing });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^RUNTIMES="runc( [A-Za-z0-9._-]+)* runsc( [A-Za-z0-9._-]+)*"$/m);
  t.regex(result.stdout, /^RUNTIMES=".*\bcrun\b.*"$/m);
});
