import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorOf, probesRoot, runProbe } from './helpers/monitord-client.ts';
import { recorded, stateDir } from './helpers/paths.ts';
import { SecondEngine } from './helpers/second-engine.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';
import { deployArgv, vmXml } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

// An engine restarted with live-restore keeps its containers running: OpenNebula must see no change.
const ids = testIds(import.meta.filename);
const engine = new SecondEngine('dvt-live', ids.cidr(0, 1), ['--live-restore']);
const ID = ids.vm(0);
const config = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');
const state = join(stateDir, 'probe-state-live-restore');
let configPath = '';

test.before(async () => {
  rmSync(state, { recursive: true, force: true });
  await engine.start();
  configPath = testConfigPath({ engineSocket: engine.socket, stateDir: state }, 'live-restore.json');
});

test.after.always(async () => {
  const client = engine.client();
  await client.removeContainer(`one-${ID}`).catch(() => undefined);
  await client.close();
  await engine.stop();
  engine.removeData();
});

test.serial('VMs stay RUNNING and keep being measured across an engine restart with live-restore', async (t) => {
  const deployed = await runAction('deploy', deployArgv(ID), vmXml({ id: ID, dockvisor: { IMAGE: 'dockvisor/busybox:latest' } }), configPath);
  t.is(deployed.stdout, `one-${ID}\n`, deployed.stderr);
  const env = { ...process.env, DOCKVISOR_CONFIG: configPath };
  const status = async () => (await runProbe(join(probesRoot, 'vm/status/dockvisor_state.sh'), config, env)).stdout;
  t.regex(await status(), new RegExp(`ID="${ID}", DEPLOY_ID="one-${ID}", STATE="RUNNING"`));

  const client = engine.client();
  const pidBefore = (await client.inspectContainer(`one-${ID}`)).State.Pid;
  await client.close();
  await engine.restart();
  const after = engine.client();
  t.is((await after.inspectContainer(`one-${ID}`)).State.Pid, pidBefore, 'the VM kept running through the restart');
  await after.close();

  t.is(await status(), '', 'no state change is reported');
  const monitor = await runProbe(join(probesRoot, 'vm/monitor/dockvisor_usage.sh'), config, env);
  t.true(Number(monitorOf(monitor.stdout, ID)?.MEMORY) > 0, 'usage is still read');
});
