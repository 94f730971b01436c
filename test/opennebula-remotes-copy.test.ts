import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect, startExecutable } from './helpers/vmm.ts';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { createBridge, deleteBridge, deleteLink, linkExists } from './helpers/net.ts';
import { dockvisorOpennebula, fakeFrontEnd, type FakeFrontEnd } from './helpers/front-end.ts';
import { recorded, stateDir } from './helpers/paths.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

// OpenNebula installs the driver in its remotes tree and copies that tree, links dereferenced, to
// /var/tmp/one on each host. The driver must work from such a copy, with its config found beside it.
const ids = testIds(import.meta.filename);
const ID = ids.vm(0);
const bridge = ids.bridge('0');
let frontEnd: FakeFrontEnd;
const hostCopy = join(stateDir, 'var-tmp-one');
const probeState = join(stateDir, 'copy-probe-state');
const vm: VmDraft = { id: ID, nics: [{ nicId: 0, bridge, ip: ids.address(0, 11) }] };
const probeConfig = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');

function runFromCopy(action: string, argv: string[], stdin: string) {
  const env = { ...process.env };
  delete env.DOCKVISOR_CONFIG;
  return collect(startExecutable(join(hostCopy, 'vmm/dockvisor', action), argv, stdin, { env }));
}

test.before(async () => {
  await removeContainersOf(await realEngine(), [ID]);
  deleteLink(`one-${ID}-0`);
  createBridge(bridge, ids.cidr(0, 1));
  for (const dir of [hostCopy, probeState]) rmSync(dir, { recursive: true, force: true });
  frontEnd = fakeFrontEnd('7.4.0');
});

test.after.always(async () => {
  await removeContainersOf(await realEngine(), [ID]);
  deleteBridge(bridge);
  for (const dir of [hostCopy, probeState]) rmSync(dir, { recursive: true, force: true });
  frontEnd?.cleanup();
});

test.serial('the driver installed on a front-end works from the copy OpenNebula makes on a host', async (t) => {
  // A front-end laid out as OpenNebula's packages lay it out: its monitoring client as files in im/kvm.d.
  const installed = dockvisorOpennebula(['install', ...frontEnd.flags, '--one-version', '7.4.0']);
  t.is(installed.status, 0, installed.stderr);
  t.regex(readFileSync(frontEnd.onedConf, 'utf8'), /LIVE_RESIZE {4}= "yes"/);
  t.true(lstatSync(join(frontEnd.remotes, 'im/dockvisor.d/monitord-client.rb')).isFile(), "OpenNebula's monitoring client, copied as a file");
  execFileSync('cp', ['-RL', frontEnd.remotes, hostCopy]);
  // The admin's host config, read from beside the copied driver: this host has no registry to pull from.
  writeFileSync(join(hostCopy, 'etc/vmm/dockvisor/dockvisor.conf'), JSON.stringify({ imagePull: 'never', shutdownTimeoutSeconds: 3, stateDir: probeState }));

  const deployed = await runFromCopy('deploy', deployArgv(ID), vmXml(vm));
  t.is(deployed.stdout, `one-${ID}\n`, deployed.stderr);
  t.true(linkExists(`one-${ID}-0`));
  const state = await runFromCopy('../../im/dockvisor-probes.d/vm/status/dockvisor_state.sh', ['dockvisor', '1', 'localhost'], probeConfig);
  t.regex(state.stdout, new RegExp(`DEPLOY_ID="one-${ID}", STATE="RUNNING"`), state.stderr);
  const unsupported = await runFromCopy('migrate', idArgv(ID), actionXml(vm));
  t.is(unsupported.stderr, 'migrate: not supported by dockvisor\n');
  const terminated = await runFromCopy('shutdown', idArgv(ID), actionXml({ ...vm, lcmState: 12 }));
  t.is(terminated.code, 0, terminated.stderr);
  t.deepEqual(await containersOf(await realEngine(), [ID]), []);
});
