import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineClient } from '../drivers/engine/engine-client.ts';
import type { EngineEndpoint } from '../drivers/engine/endpoint.ts';
import { buildMarkedImage, execIn, runDs, runTm, tmConfigFor } from './helpers/datastore.ts';
import { engineLeftovers } from './helpers/datastore-rig.ts';
import { TestKeeper } from './helpers/connection-keeper.ts';
import { createBridge, deleteBridge } from './helpers/net.ts';
import { ENGINE_SOCKET, ensureStateDir, repoRoot, stateDir } from './helpers/paths.ts';
import { TestRegistry } from './helpers/registry.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';
import { deployArgv, idArgv, actionXml, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';

// Datastore deploys (tm clone, tm context, vmm deploy) of several VMs at once on one host, each action with its own
// SSH connection, and through the front-end's connection keeper: alone, stale, and killed while actions use it.
const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const host = new TestHost('dvt-fa', ids.address(0, 11), bridge, ids.cidr(1, 1), { remoteForwarding: true });
const datastore = new TestRegistry('ds-fast', 5472);
const upstream = new TestRegistry('ds-fast-upstream', 5473);
const local = new EngineClient({ kind: 'unix', socketPath: ENGINE_SOCKET });
const upstreamRepo = `${upstream.address}/dvt/fast-base`;
const IMAGE_ID = ids.vm(79);
let source = '';
let withKeeper: string;
let direct: string;

const sysDir = (vid: number) => `/var/lib/one//datastores/100/${vid}`;
const diskPath = (vid: number, disk: number) => `${host.name}:${sysDir(vid)}/disk.${disk}`;
const vmmConfig = () => testConfigPath({ engineSocket: host.engine.socket }, 'ds-fast-vmm.json');

test.before(async () => {
  createBridge(bridge, ids.cidr(0, 1));
  await Promise.all([host.start(), datastore.start(), upstream.start()]);
  withKeeper = tmConfigFor([host], 'ds-fast');
  direct = tmConfigFor([host], 'ds-fast-direct', { connectionKeeper: '' });
  await buildMarkedImage(local, upstreamRepo, '1', 'booted');
  await local.pushImage(upstreamRepo, '1', 60_000);
  const result = await runDs('cp', { imageId: IMAGE_ID, registry: datastore.address, path: `docker://${upstreamRepo}:1` });
  if (result.code !== 0) throw new Error(`cp: ${result.stderr}`);
  source = result.stdout.split(' ')[0]!;
});

test.after.always(async () => {
  await local.removeImage(`${upstreamRepo}:1`).catch(() => undefined);
  await local.close();
  const results = await Promise.allSettled([host.stop(), datastore.stop(), upstream.stop()]);
  deleteBridge(bridge);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});

function vm(vid: number): VmDraft {
  return { id: vid, systemTm: 'dockvisor', dockvisor: { CMD: 'sleep infinity' }, disks: [{ diskId: 0, source, tmMad: 'dockvisor', imageId: IMAGE_ID }] };
}

async function tm(config: string, action: string, ...argv: string[]): Promise<void> {
  const result = await runTm(action, argv, config);
  if (result.code !== 0) throw new Error(`tm ${action} ${argv.join(' ')}: ${result.stderr}`);
}

/** What oned runs to boot a VM with its root disk from the datastore: clone, context, deploy. */
async function boot(config: string, vid: number): Promise<void> {
  await tm(config, 'clone', source, diskPath(vid, 0), String(vid), '101');
  const script = join(stateDir, `ds-fast-context-${vid}.sh`);
  writeFileSync(script, `DVT_CONTEXT='vm-${vid}'\n`);
  await tm(config, 'context', script, diskPath(vid, 1), String(vid), '100');
  const deployed = await runAction('deploy', deployArgv(vid), vmXml(vm(vid)), vmmConfig());
  if (deployed.code !== 0) throw new Error(`deploy VM ${vid}: ${deployed.stderr}`);
}

async function terminate(config: string, vid: number): Promise<void> {
  const stopped = await runAction('shutdown', idArgv(vid), actionXml({ ...vm(vid), lcmState: 12 }), vmmConfig());
  if (stopped.code !== 0) throw new Error(`shutdown VM ${vid}: ${stopped.stderr}`);
  await tm(config, 'delete', diskPath(vid, 0), String(vid), '101');
  await tm(config, 'delete', `${host.name}:${sysDir(vid)}`, String(vid), '100');
}

/** The image off the host, so that every clone pulls it (through the registry port on the host's loopback). */
async function forgetImage(): Promise<void> {
  const engine = new EngineClient({ kind: 'unix', socketPath: host.engine.socket });
  try {
    await engine.removeImage(source.slice('docker://'.length)).catch(() => undefined);
  } finally {
    await engine.close();
  }
}

async function checkBooted(t: import('ava').ExecutionContext, vids: number[]): Promise<void> {
  for (const vid of vids) {
    t.is(execIn(host.engine.socket, `one-${vid}`, 'cat', '/marker').trim(), 'booted', `VM ${vid}`);
    t.is(execIn(host.engine.socket, `one-${vid}`, 'cat', `/context/ds-fast-context-${vid}.sh`).trim(), `DVT_CONTEXT='vm-${vid}'`);
  }
}

/** A keeper that also runs the transfer actions, its agent's socket handed to the launchers runTm and runAction start. */
async function startKeeperWithAgent(): Promise<TestKeeper> {
  const agentSocket = join(mkdtempSync(join(stateDir, 'tm-agent-')), 'agent.sock');
  const keeper = await TestKeeper.start(withKeeper, undefined, agentSocket);
  process.env.DOCKVISOR_AGENT_SOCKET = agentSocket;
  return keeper;
}

async function terminateAll(t: import('ava').ExecutionContext, config: string, vids: number[]): Promise<void> {
  await Promise.all(vids.map((vid) => terminate(config, vid)));
  for (const vid of vids) t.deepEqual(await engineLeftovers(host, vid), [], `VM ${vid}`);
}

test.serial('six datastore deploys at once on one host, each action on its own SSH connection, all boot; terminated at once, nothing is left', async (t) => {
  const vids = [0, 1, 2, 3, 4, 5].map((i) => ids.vm(i));
  await forgetImage();
  await Promise.all(vids.map((vid) => boot(direct, vid)));
  await checkBooted(t, vids);
  await terminateAll(t, direct, vids);
});

test.serial('six datastore deploys at once through the connection keeper: its one SSH connection carries them, the pulls share one forward', async (t) => {
  const vids = [10, 11, 12, 13, 14, 15].map((i) => ids.vm(i));
  const keeper = await TestKeeper.start(withKeeper);
  try {
    await forgetImage();
    await Promise.all(vids.map((vid) => boot(withKeeper, vid)));
    await checkBooted(t, vids);
    await terminateAll(t, withKeeper, vids);
  } finally {
    await keeper.stop();
  }
  const served = /after ([0-9]+) engine connections and ([0-9]+) forwards/.exec(keeper.stderr);
  t.truthy(served, keeper.stderr);
  t.true(Number(served![1]) >= vids.length * 3, `every clone, context and delete went through the keeper: ${keeper.stderr}`);
  t.true(Number(served![2]) >= 1, 'the pulls went through its forward');
});

test.serial("six datastore deploys at once through the keeper's action agent: the transfer actions run in the keeper, the deploys by themselves", async (t) => {
  const vids = [20, 21, 22, 23, 24, 25].map((i) => ids.vm(i));
  const keeper = await startKeeperWithAgent();
  try {
    await forgetImage();
    await Promise.all(vids.map((vid) => boot(withKeeper, vid)));
    await checkBooted(t, vids);
    await terminateAll(t, withKeeper, vids);
  } finally {
    process.env.DOCKVISOR_AGENT_SOCKET = '';
    await keeper.stop();
  }
  for (const vid of vids) {
    for (const action of ['clone', 'context', 'delete'])
      t.regex(keeper.stderr, new RegExp(`dockvisor tm ${action} \\(tm ${vid}\\): exit 0`), `${action} of VM ${vid}`);
  }
  t.notRegex(keeper.stderr, /dockvisor (deploy|shutdown) /, 'the keeper runs no VMM actions');
  t.regex(keeper.stderr, /stopped after/);
});

test.serial('a keeper of other remotes is not used: the actions connect by themselves, and it steps down for the new one', async (t) => {
  const lib = mkdtempSync(join(ensureStateDir(), 'ds-fast-old-remotes-'));
  try {
    cpSync(join(repoRoot, 'remotes/lib/dockvisor'), lib, { recursive: true });
    writeFileSync(join(lib, 'VERSION'), '0.0.1+older\n');
    const keeper = await TestKeeper.start(withKeeper, lib);
    const vid = ids.vm(20);
    await boot(withKeeper, vid);
    await checkBooted(t, [vid]);
    await keeper.exited();
    t.regex(keeper.stderr, /stepping down/);
    t.regex(keeper.stderr, /after 0 engine connections/);
    await terminateAll(t, withKeeper, [vid]);
  } finally {
    rmSync(lib, { recursive: true, force: true });
  }
});

test.serial("a keeper that goes after an action's hello: the action's next engine calls take its own SSH connection", async (t) => {
  const keeper = await TestKeeper.start(withKeeper);
  const socketPath = (JSON.parse(readFileSync(withKeeper, 'utf8')) as { connectionKeeper: string }).connectionKeeper;
  const version = readFileSync(join(repoRoot, 'remotes/lib/dockvisor/VERSION'), 'utf8').trim();
  const overSsh = host.engineOverSsh();
  const endpoint = overSsh.endpoint as Extract<EngineEndpoint, { kind: 'ssh' }>;
  const client = new EngineClient({ ...endpoint, keeper: { socketPath, version, config: withKeeper, host: host.name } }, { timeoutMs: 10_000 });
  await overSsh.close();
  try {
    t.truthy(await client.version(), 'through the keeper');
    const keeperSsh = execFileSync('ss', ['-tnpH', 'dst', host.address], { encoding: 'utf8' });
    t.true(keeperSsh.includes(`pid=${keeper.child.pid},`), `the keeper holds the SSH connection: ${keeperSsh}`);
    // Killed: a keeper stopped gracefully waits for the channel this client keeps open.
    await keeper.stop('SIGKILL');
    for (let i = 0; i < 3; i++) t.truthy(await client.version(), `call ${i + 1} after the keeper went`);
  } finally {
    await client.close();
    await keeper.stop();
  }
});

// Killed at different points of the deploys: before the actions reach it, while clones (and their pulls) or contexts use it.
// A pull cut by the kill is retried by the engine with a back-off, which the deploy run again joins: one test per point.
/** Three deploys at once, `keeper` killed `delayMs` into them; the VMs whose deploy failed. */
async function bootWhileKeeperKilled(t: import('ava').ExecutionContext, vids: number[], keeper: TestKeeper, delayMs: number): Promise<number[]> {
  await forgetImage();
  const first = Promise.allSettled(vids.map((vid) => boot(withKeeper, vid)));
  await sleep(delayMs);
  await keeper.stop('SIGKILL');
  const results = await first;
  const failed = vids.filter((_, i) => results[i]!.status === 'rejected');
  t.log(`${failed.length} of ${vids.length} deploys failed`);
  return failed;
}

for (const [wave, delayMs] of [250, 500, 800].entries()) {
  test.serial(`a keeper killed ${delayMs} ms into three deploys: what failed succeeds when run again, without it, and nothing is left`, async (t) => {
    const vids = [0, 1, 2].map((i) => ids.vm(30 + 10 * wave + i));
    const failed = await bootWhileKeeperKilled(t, vids, await TestKeeper.start(withKeeper), delayMs);
    // oned runs a failed deploy again from the start: the socket the dead keeper left answers nothing now.
    for (const vid of failed) await boot(withKeeper, vid);
    await checkBooted(t, vids);
    await terminateAll(t, withKeeper, vids);
  });
}

for (const [wave, delayMs] of [300, 600].entries()) {
  test.serial(
    `a keeper killed ${delayMs} ms into three deploys whose transfer actions it runs: what failed succeeds when run again, and nothing is left`,
    async (t) => {
      const vids = [0, 1, 2].map((i) => ids.vm(70 + 3 * wave + i));
      const keeper = await startKeeperWithAgent();
      try {
        const failed = await bootWhileKeeperKilled(t, vids, keeper, delayMs);
        // The launchers find the dead agent's socket answering nothing and run the actions themselves.
        for (const vid of failed) await boot(withKeeper, vid);
      } finally {
        process.env.DOCKVISOR_AGENT_SOCKET = '';
      }
      await checkBooted(t, vids);
      await terminateAll(t, withKeeper, vids);
    },
  );
}
