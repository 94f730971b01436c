import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerConfig } from '../drivers/core/container-config.ts';
import { defaultHostSettings } from '../drivers/core/host-settings.ts';
import { parseVmDocument } from '../drivers/opennebula/vm-document.ts';
import { recorded } from './helpers/paths.ts';
import { vmXml, type VmDraft } from './helpers/vm-xml.ts';

// What a VM document with disks from a dockvisor datastore becomes: pure translation, no engine.
const SOURCE = `docker://127.0.0.1:5400/dockvisor/image-3@sha256:${'a'.repeat(64)}`;
const draft = (extra: Partial<VmDraft> = {}): VmDraft => ({
  id: 9880,
  systemTm: 'dockvisor',
  disks: [
    { diskId: 0, source: SOURCE, tmMad: 'dockvisor', imageId: 3 },
    { diskId: 1, source: SOURCE, tmMad: 'dockvisor', imageId: 4, target: 'sdb' },
    { diskId: 2, type: 'fs', target: '/srv/scratch' },
    { diskId: 3, type: 'swap', target: 'sdd' },
  ],
  ...extra,
});

test('the root disk from the datastore wins over DOCKVISOR/IMAGE; other disks and the context are volumes', (t) => {
  const vm = parseVmDocument(vmXml(draft()));
  t.is(vm.spec.image, 'dockvisor-disk/one-9880:disk-0');
  t.true(vm.transferOwnsContainer);
  t.deepEqual(vm.spec.volumes, [
    { volume: 'one-9880-disk-1', containerPath: '/media/sdb', readOnly: false, optional: false },
    { volume: 'one-9880-disk-2', containerPath: '/srv/scratch', readOnly: false, optional: false },
    { volume: 'one-9880-context', containerPath: '/context', readOnly: true, optional: true },
  ]);
  const mounts = containerConfig(vm.spec, defaultHostSettings()).HostConfig?.Mounts;
  t.deepEqual(
    mounts?.map((m) => `${m.Source}:${m.Target}:${m.ReadOnly ? 'ro' : 'rw'}`),
    ['one-9880-disk-1:/media/sdb:rw', 'one-9880-disk-2:/srv/scratch:rw', 'one-9880-context:/context:ro'],
  );
});

test('without dockvisor transfers the image and the stop behaviour are as before, and no volume is mounted', (t) => {
  const recordedVm = parseVmDocument(readFileSync(join(recorded, 'deploy.stdin.vm.xml'), 'utf8'));
  t.is(recordedVm.spec.image, 'alpine:3.19', 'the recorded root disk SOURCE is not docker://: DOCKVISOR/IMAGE is used');
  t.false(recordedVm.transferOwnsContainer);
  t.deepEqual(
    recordedVm.spec.volumes?.map((v) => v.volume),
    ['one-1-context'],
    'the context volume is mounted only if the context transfer made it (optional)',
  );
  const plain = parseVmDocument(vmXml({ id: 9881 }));
  t.deepEqual(plain.spec.volumes, []);
  t.is(plain.spec.image, 'dockvisor/busybox:latest');
});

test('a disk TARGET that is not a plain absolute path or device name is refused', (t) => {
  for (const target of ['/srv/../etc', '/srv/./x', '/a b', 'sd$(reboot)', '/context', '//']) {
    const disks = [
      { diskId: 0, source: SOURCE, tmMad: 'dockvisor' },
      { diskId: 1, type: 'fs', target },
    ];
    t.throws(() => parseVmDocument(vmXml(draft({ disks }))), { message: /DISK 1 TARGET .* is not/ }, target);
  }
});
