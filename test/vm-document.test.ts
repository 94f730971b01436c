import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerConfig, cpuLimits } from '../drivers/core/container-config.ts';
import { defaultHostSettings } from '../drivers/core/host-settings.ts';
import { parseActionData } from '../drivers/opennebula/action-data.ts';
import { stopRemovesContainer } from '../drivers/opennebula/lcm-state.ts';
import { parseVmDocument } from '../drivers/opennebula/vm-document.ts';
import { splitWords } from '../drivers/opennebula/words-without-shell.ts';
import { recorded } from './helpers/paths.ts';
import { vmXml } from './helpers/vm-xml.ts';

const fixture = (name: string) => readFileSync(join(recorded, name), 'utf8');

test('the recorded deploy document becomes container one-1 with its image, command, limits and NIC', (t) => {
  const vm = parseVmDocument(fixture('deploy.stdin.vm.xml'));
  t.is(vm.id, 1);
  t.is(vm.lcmState, 2);
  t.is(vm.deployId, undefined);
  const { spec } = vm;
  t.is(spec.containerName, 'one-1');
  t.is(spec.image, 'alpine:3.19');
  t.deepEqual(spec.command, ['sleep', 'infinity']);
  t.is(spec.hostname, 'dv-vm-1');
  t.is(spec.cpu, 0.5);
  t.is(spec.vcpu, 1);
  t.is(spec.memoryMb, 128);
  t.is(spec.environment.FOO, 'bar');
  t.deepEqual(spec.nics, [
    {
      nicId: 0,
      hostInterface: 'one-1-0',
      bridge: 'br-dv',
      bridgeType: 'linux',
      mac: '02:00:0a:4d:00:0a',
      ipv4: [{ address: '10.77.0.10', prefixLength: 24 }],
      ipv6: [],
      gateway: undefined,
      gateway6: undefined,
      routes: [],
      mtu: undefined,
      dns: [],
      searchDomains: [],
      bandwidth: undefined,
    },
  ]);
});

test('a resume from poweroff carries LCM_STATE 20 and the old deploy id', (t) => {
  const vm = parseVmDocument(fixture('deploy-resume-from-poweroff.stdin.vm.xml'));
  t.is(vm.lcmState, 20);
  t.is(vm.deployId, 'dockvisor-1');
});

test('poweroff and undeploy keep the container, terminate removes it', (t) => {
  t.false(stopRemovesContainer(parseActionData(fixture('shutdown-poweroff.stdin.xml')).vm.lcmState));
  t.false(stopRemovesContainer(parseActionData(fixture('cancel-poweroff-hard.stdin.xml')).vm.lcmState));
  t.false(stopRemovesContainer(29));
  t.true(stopRemovesContainer(parseActionData(fixture('shutdown-terminate.stdin.xml')).vm.lcmState));
  t.true(stopRemovesContainer(parseActionData(fixture('cancel-terminate-hard.stdin.xml')).vm.lcmState));
});

test('every recorded action document parses', (t) => {
  for (const name of ['reboot', 'reset', 'save', 'restore', 'shutdown-poweroff', 'shutdown-terminate', 'cancel-poweroff-hard', 'cancel-terminate-hard']) {
    const data = parseActionData(fixture(`${name}.stdin.xml`));
    t.true(data.deployId?.startsWith('dockvisor-'), name);
    t.is(data.vm.spec.nics.length, 1, name);
  }
});

test('CPU is a cap in cores and a weight; VCPU caps when CPU is absent', (t) => {
  t.deepEqual(cpuLimits({ cpu: 0.5, vcpu: 2 }), { CpuShares: 512, CpuPeriod: 100_000, CpuQuota: 50_000 });
  t.deepEqual(cpuLimits({ vcpu: 2 }), { CpuShares: 2048, CpuPeriod: 100_000, CpuQuota: 200_000 });
  t.deepEqual(cpuLimits({}), {});
});

test('CPU above 256 keeps its cap in cores; its weight is the largest the engine takes', (t) => {
  t.deepEqual(cpuLimits({ cpu: 300 }), { CpuShares: 262_144, CpuPeriod: 100_000, CpuQuota: 30_000_000 });
  t.deepEqual(cpuLimits({ cpu: 256 }), { CpuShares: 262_144, CpuPeriod: 100_000, CpuQuota: 25_600_000 });
  t.is(cpuLimits({ cpu: 0.001 }).CpuShares, 2, 'and the smallest below');
});

test('the netmask comes from the context, as a dotted mask or a prefix length, and defaults to /24', (t) => {
  const nic = (mask?: string) => parseVmDocument(vmXml({ id: 5, nics: [{ nicId: 0, bridge: 'br0', ip: '198.18.0.5', mask }] })).spec.nics[0]!;
  t.is(nic('255.255.0.0').ipv4[0]?.prefixLength, 16);
  t.is(nic('20').ipv4[0]?.prefixLength, 20);
  t.is(nic().ipv4[0]?.prefixLength, 24);
});

test('the container is ours, without Docker networking, with init and bounded logs', (t) => {
  const config = containerConfig(parseVmDocument(fixture('deploy.stdin.vm.xml')).spec, defaultHostSettings());
  t.is(config.HostConfig.NetworkMode, 'none');
  t.is(config.HostConfig.Privileged, undefined);
  t.is(config.HostConfig.Memory, 128 * 1024 * 1024);
  t.is(config.HostConfig.MemorySwap, 128 * 1024 * 1024);
  t.deepEqual(config.HostConfig.RestartPolicy, { Name: 'no' });
  t.is(config.Labels?.['io.dockvisor.owner'], 'dockvisor');
  t.is(config.Labels?.['io.dockvisor.vm-id'], '1');
  t.deepEqual(config.HostConfig.ExtraHosts, ['dv-vm-1:10.77.0.10']);
});

test('template commands are split into words without any shell expansion', (t) => {
  t.deepEqual(splitWords(`sh -c 'echo $HOME; ls' "a b" c\\ d`, 'CMD'), ['sh', '-c', 'echo $HOME; ls', 'a b', 'c d']);
  t.deepEqual(splitWords('$(reboot) `id`', 'CMD'), ['$(reboot)', '`id`']);
  t.throws(() => splitWords("it's", 'CMD'), { message: /unterminated single quote/ });
});

test('a host mount outside the allowed roots, or escaping one, is refused', (t) => {
  const host = { ...defaultHostSettings(), allow: { ...defaultHostSettings().allow, hostMountRoots: ['/srv/vm-data'] } };
  const spec = (mounts: string) => parseVmDocument(vmXml({ id: 6, nics: [], dockvisor: { MOUNTS: mounts } })).spec;
  t.is(
    containerConfig(spec('/srv/vm-data/6:/data'), host).HostConfig.Binds?.[0],
    `/var/tmp/dockvisor/${process.getuid!()}/mounts/one-6/0:/data:rw`,
    "the engine mounts the staged, checked path, in the user's own state directory",
  );
  t.throws(() => containerConfig(spec('/srv/vm-data/../../etc:/data'), host), { message: /host path .* is not allowed/ });
  t.throws(() => containerConfig(spec('/srv/vm-data-other:/data'), host), { message: /is not allowed/ });
});
