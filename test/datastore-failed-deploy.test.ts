import test from 'ava';
import { DatastoreRig, diskPath, vmDirPath } from './helpers/datastore-rig.ts';
import { BASE_IMAGE } from './helpers/paths.ts';
import { actionXml, idArgv, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

// A deploy that fails after the transfer made the VM's disk and context, then `terminate --hard` from
// BOOT_FAILURE: oned runs the VMM's cleanup (cancel only when a deploy id exists) and the transfer's two
// deletes with errors ignored, in no order a driver can count on.
const ids = testIds(import.meta.filename);
const rig = new DatastoreRig({
  name: 'wd-failed',
  bridge: ids.bridge(),
  subnet: ids.network(0),
  hosts: [{ name: 'dvt-wdc', engineBridge: ids.cidr(1, 1) }],
});
const host = rig.hosts[0]!;

test.before(() => rig.start());
test.after.always(() => rig.stop());

/** Clone, context, then a deploy that fails: the VM's first process exits at once (or its name is taken). */
async function failedBoot(vid: number): Promise<VmDraft> {
  const draft: VmDraft = {
    id: vid,
    systemTm: 'dockvisor',
    dockvisor: { CMD: 'false' },
    nics: [{ nicId: 0, bridge: rig.bridge, ip: `198.18.163.${vid - 8300}` }],
    disks: [{ diskId: 0, source: await rig.image(8330), tmMad: 'dockvisor', imageId: 8330 }],
  };
  const deployed = await rig.boot(host, draft);
  if (deployed.code === 0) throw new Error(`deploy of VM ${vid} was meant to fail`);
  return draft;
}

const cancel = (draft: VmDraft) => rig.vmm('cancel', host, idArgv(draft.id), actionXml({ ...draft, lcmState: 12 }));
const cleanup = (draft: VmDraft) => rig.vmm('cleanup', host, idArgv(draft.id), actionXml({ ...draft, lcmState: 23 }));
const deleteDisk = (draft: VmDraft) => rig.runTm('delete', diskPath(host.name, draft.id, 0), String(draft.id), '101');
const deleteDir = (draft: VmDraft) => rig.runTm('delete', vmDirPath(host.name, draft.id), String(draft.id), '100');

const orders: [string, ((draft: VmDraft) => Promise<{ code: number | null; stderr: string }>)[]][] = [
  ['cancel, then the two deletes', [cancel, deleteDisk, deleteDir]],
  ['the two deletes, then cancel', [deleteDisk, deleteDir, cancel]],
  ['the directory first, then the disk', [deleteDir, deleteDisk]],
  ['the two deletes alone, as oned runs them for a VM with no deploy id', [deleteDisk, deleteDir]],
  ['cleanup between the deletes', [deleteDisk, cleanup, deleteDir]],
];

test.serial(
  "terminate --hard after a deploy refused for a container of the same name that is not the VM's: the VM's disk tag and volumes go, that container stays",
  async (t) => {
    const engine = host.engine.client();
    t.teardown(async () => {
      await engine.removeContainer('one-8339').catch(() => undefined);
      await engine.close();
    });
    await engine.createContainer('one-8339', { Image: BASE_IMAGE, Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'none' } });
    await engine.startContainer('one-8339');
    for (const [round, steps] of [
      [deleteDisk, deleteDir],
      [cancel, deleteDisk, deleteDir],
      [deleteDir, deleteDisk, cancel],
    ].entries()) {
      const draft = await failedBoot(8339);
      if (round === 0) {
        const saved = await rig.runTm('mvds', diskPath(host.name, 8339, 0), draft.disks![0]!.source!, '8339', '101');
        t.is(saved.code, 1, "that container is not saved as the VM's disk either");
        t.regex(saved.stderr, /a container named one-8339 exists on this host but is not this VM's/);
      }
      for (const step of steps) await step(draft);
      t.deepEqual(await rig.leftovers(host, 8339), ['container one-8339'], steps.map((step) => step.name).join(', '));
      t.true((await engine.inspectContainer('one-8339')).State.Running, 'the other container is left alone');
    }
  },
);

for (const [index, [name, steps]] of orders.entries()) {
  test.serial(`terminate --hard after a failed deploy leaves nothing on the host: ${name}`, async (t) => {
    const draft = await failedBoot(8331 + index);
    for (const step of steps) {
      const result = await step(draft);
      t.is(result.code, 0, result.stderr);
    }
    t.deepEqual(await rig.leftovers(host, draft.id), []);
  });
}
