import test from 'ava';
import { BASE_IMAGE } from './helpers/paths.ts';
import { createBridge, deleteBridge, hostPings } from './helpers/net.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

// The rig for what crosses hosts: two namespaces on a bridge, each with its own sshd and engine.
const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const hosts = [new TestHost('dvt-ha', ids.address(0, 11), bridge, ids.cidr(1, 1)), new TestHost('dvt-hb', ids.address(0, 12), bridge, ids.cidr(2, 1))];

test.before(async () => {
  createBridge(bridge, ids.cidr(0, 1));
  for (const host of hosts) await host.start();
});

test.after.always(async () => {
  const results = await Promise.allSettled(hosts.map((host) => host.stop()));
  deleteBridge(bridge);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

test.serial('each test host answers at its own address and runs its own engine, reached over one SSH connection', async (t) => {
  const [a, b] = hosts as [TestHost, TestHost];
  for (const host of hosts) t.true(hostPings(host.address), `${host.name} answers`);
  const onA = a.engineOverSsh();
  const onB = b.engineOverSsh();
  t.teardown(async () => {
    await onA.removeContainer('dvt-rig-probe').catch(() => undefined);
    await onA.close();
    await onB.close();
  });
  t.regex((await onA.version()).ApiVersion, /^1\.\d+$/);
  await onA.createContainer('dvt-rig-probe', {
    Image: BASE_IMAGE,
    Cmd: ['sleep', 'infinity'],
    Labels: { 'io.dockvisor.test': 'rig' },
    HostConfig: { NetworkMode: 'none' },
  });
  await onA.startContainer('dvt-rig-probe');
  t.true((await onA.inspectContainer('dvt-rig-probe')).State.Running);
  t.deepEqual(await onB.listContainers(['io.dockvisor.test=rig']), [], "host B does not see host A's containers");
  t.is(a.ssh.establishedConnections(), 1, 'one SSH connection to host A carried every call');
});
