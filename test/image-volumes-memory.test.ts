import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmStatus } from '../drivers/core/vm-status.ts';
import { imageVolumeMounts, LABEL_IMAGE_VOLUME } from '../drivers/core/image-volumes.ts';
import { noPrivileges, type VmSpec } from '../drivers/core/vm-spec.ts';
import { LcmState } from '../drivers/opennebula/lcm-state.ts';
import { imageVolumeLine } from '../drivers/opennebula/monitor/probe-format.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from '../drivers/opennebula/vm-document-builder.ts';
import { vmmActions } from '../drivers/opennebula/vmm-actions.ts';
import { measuredVolumeSizes } from '../drivers/monitoring/volume-sizes.ts';
import { writableLayerSizes } from '../drivers/monitoring/writable-layers.ts';
import { memoryHost, type MemoryHost } from './helpers/memory-host.ts';

// Naming, labels and the lifecycle of image volumes on the in-memory engine; test/image-volumes.test.ts has the real one.

const IMAGE = 'dvt/with-volumes:1';
const draft = (id: number, extra: Partial<VmDraft> = {}): VmDraft => ({ id, dockvisor: { IMAGE }, ...extra });
const run = (host: MemoryHost, action: string, argv: string[], stdin: string) => vmmActions[action]!(argv, stdin, host.services);
const deploy = (host: MemoryHost, vm: VmDraft) => run(host, 'deploy', deployArgv(vm.id), vmXml(vm));
const on = (host: MemoryHost, action: string, vm: VmDraft) => run(host, action, idArgv(vm.id), actionXml(vm));

function hostWithImage(t: Parameters<typeof memoryHost>[0]): MemoryHost {
  const host = memoryHost(t);
  host.engine.addImage(IMAGE, { config: { Volumes: ['/var/lib/app', '/data/'] } });
  return host;
}

const mounts = async (host: MemoryHost, name: string) =>
  ((await host.engine.inspectContainer(name)).HostConfig as { Mounts?: { Source: string; Target: string }[] }).Mounts?.map((m) => `${m.Source}:${m.Target}`);

test("each VOLUME path of the image is a named volume one-<vid>-vol-<n>, numbered in sorted order and labelled as the VM's", async (t) => {
  const host = hostWithImage(t);
  await deploy(host, draft(11));
  t.deepEqual(await mounts(host, 'one-11'), ['one-11-vol-0:/data', 'one-11-vol-1:/var/lib/app']);
  const [volume] = await host.engine.describeVolumes([`${LABEL_IMAGE_VOLUME}=/data`]);
  t.deepEqual(volume?.Labels, {
    'io.dockvisor.owner': 'dockvisor',
    'io.dockvisor.front-end': 'opennebula',
    'io.dockvisor.vm-id': '11',
    [LABEL_IMAGE_VOLUME]: '/data',
  });
});

test('poweroff, undeploy and reboot keep the volumes; terminate removes them', async (t) => {
  const host = hostWithImage(t);
  await deploy(host, draft(12));
  await on(host, 'shutdown', draft(12, { lcmState: LcmState.SHUTDOWN_POWEROFF }));
  await deploy(host, draft(12, { lcmState: 20 }));
  await on(host, 'reboot', draft(12));
  await on(host, 'shutdown', draft(12, { lcmState: LcmState.SHUTDOWN_UNDEPLOY }));
  t.true(await host.engine.volumeExists('one-12-vol-1'));
  await on(host, 'shutdown', draft(12, { lcmState: LcmState.SHUTDOWN }));
  t.deepEqual(await host.engine.listVolumes(['io.dockvisor.vm-id=12']), []);
});

test("a volume of that name that is not the VM's refuses the deploy, and is neither used nor removed", async (t) => {
  const host = hostWithImage(t);
  await host.engine.createVolume('one-13-vol-1', { owner: 'someone else' });
  const error = await t.throwsAsync(deploy(host, draft(13)));
  t.is(error?.message, "VM 13: a volume named one-13-vol-1 (for the image's VOLUME /var/lib/app) exists on this host but is not this VM's; it was left alone");
  t.is(await host.engine.findContainer('one-13'), undefined);
  await on(host, 'cleanup', draft(13));
  t.deepEqual(
    (await host.engine.describeVolumes(['owner'])).map((v) => v.Name),
    ['one-13-vol-1'],
  );
});

test('a disk or a host mount at an image VOLUME path wins, and the other volumes keep their numbers', (t) => {
  const spec: VmSpec = {
    frontEnd: 'nova',
    vmId: 'dcf60a0a-0000-4000-8000-000000000001',
    containerName: 'nova-dcf60a0a-0000-4000-8000-000000000001',
    displayName: 'x',
    hostname: 'x',
    image: IMAGE,
    environment: {},
    nics: [],
    privileges: { ...noPrivileges(), hostMounts: [{ hostPath: '/srv/x', containerPath: '/srv', readOnly: false }] },
    volumes: [{ volume: 'one-1-disk-2', containerPath: '/data', readOnly: false, optional: false }],
    frontEndLabels: {},
  };
  const image = {
    Id: 'x',
    RepoTags: [],
    RepoDigests: [],
    Size: 0,
    Config: { Volumes: { '/srv': {}, '/data': {}, '/var/lib/app': {}, relative: {}, '/a/../etc': {} } },
  };
  t.deepEqual(
    imageVolumeMounts(spec, image).map((m) => `${m.volume}:${m.containerPath}`),
    [`${spec.containerName}-vol-2:/var/lib/app`],
  );
});

test('monitoring: one IMAGE_VOLUME vector a volume, its size in MB once measured; values cannot break out', async (t) => {
  t.is(imageVolumeLine({ path: '/data', volume: 'one-7-vol-0' }, 5 * 1024 * 1024), 'IMAGE_VOLUME=[PATH="/data",NAME="one-7-vol-0",SIZE=5]\n');
  t.is(imageVolumeLine({ path: '/x"]\nVM=[', volume: 'one-7-vol-1' }, undefined), 'IMAGE_VOLUME=[PATH="/x VM=",NAME="one-7-vol-1"]\n');
  const host = hostWithImage(t);
  await deploy(host, draft(14));
  host.engine.setVolumeSize('one-14-vol-0', 3 << 20);
  const state = `${host.services.config.stateDir}/volume-sizes-test.json`;
  const measure = () => host.engine.volumeSizes();
  t.is((await measuredVolumeSizes(['one-14-vol-0'], measure, state, 1000))['one-14-vol-0'], 3 << 20);
  host.engine.setVolumeSize('one-14-vol-0', 9 << 20);
  t.is((await measuredVolumeSizes(['one-14-vol-0'], measure, state, 1100))['one-14-vol-0'], 3 << 20, 'measured at most every 5 minutes');
  await host.engine.createVolume('one-14-vol-7', {});
  t.is((await measuredVolumeSizes(['one-14-vol-0', 'one-14-vol-7'], measure, state, 1100))['one-14-vol-0'], 9 << 20, 'sooner for a new volume');
});

test('writable layers, like volumes, are measured at most every 5 minutes, and again when the clock went back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dvt-layers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'layers.json');
  let size = 100;
  let measured = 0;
  const list = async () => {
    measured += 1;
    return [{ name: 'one-15', diskBytes: size } as VmStatus, { diskBytes: 5 } as VmStatus];
  };
  t.deepEqual(await writableLayerSizes(list, state, 1000), { 'one-15': 100 }, 'containers without a name are left out');
  size = 200;
  t.deepEqual(await writableLayerSizes(list, state, 1200), { 'one-15': 100 });
  t.deepEqual(await writableLayerSizes(list, state, 1300), { 'one-15': 200 });
  t.deepEqual(await writableLayerSizes(list, state, 900), { 'one-15': 200 });
  t.is(measured, 3);
});
