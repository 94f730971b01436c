import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EngineClient } from '../drivers/engine/engine-client.ts';
import { withRegistryReach } from '../drivers/images/registry-reach.ts';
import { RegistryClient } from '../drivers/images/registry/registry-client.ts';
import { parseImageManifest } from '../drivers/images/registry/copy-image.ts';
import { buildMarkedImage, dsMessage, tmConfigFor } from '../test/helpers/datastore.ts';
import { createBridge, deleteBridge } from '../test/helpers/net.ts';
import { TestRegistry } from '../test/helpers/registry.ts';
import { TestHost } from '../test/helpers/test-host.ts';
import { TestKeeper } from '../test/helpers/connection-keeper.ts';
import { testConfigPath } from '../test/helpers/vmm.ts';
import { actionXml, idArgv, vmXml } from '../drivers/opennebula/vm-document-builder.ts';
import { childEnv, describeFailure, runTimed, type TimedRun } from './child-process.ts';
import { phasesOf, summarizePhases, type CodeLabels, type Marks, type PhaseBreakdown } from './deploy-phases.ts';
import { ENGINE_SOCKET, phaseMarksPreload, repoRoot, resultsDir } from './settings.ts';
import { round, summarize, type Summary } from './stats.ts';

/**
 * The image datastore against doing the same by hand through the engines:
 * - register: `datastore/dockvisor/cp docker://<upstream>/...` (a new repository each round) against the
 *   local engine pulling the image from the upstream registry and pushing it into the datastore registry;
 * - deploy: `tm clone` + `tm context` + `vmm deploy` of a VM on a host reached over SSH, with the image
 *   not yet on the host and already on it, against pull + create + start through the same SSH connection.
 */
export interface DatastoreResult {
  imageMb: number;
  rounds: number;
  register: { summary: { cp: Summary; raw: Summary }; ratio: number };
  deployUncached: { summary: { ours: Summary; raw: Summary }; ratio: number };
  deployCached: { summary: { ours: Summary; raw: Summary }; ratio: number };
  /** The same without the connection keeper: every transfer action opens its own SSH connection. */
  deployUncachedDirect: { summary: { ours: Summary; raw: Summary }; ratio: number };
  deployCachedDirect: { summary: { ours: Summary; raw: Summary }; ratio: number };
  /** Through the keeper, with every launcher handing its action to the action agent instead of starting node. */
  deployUncachedAgent: { summary: { ours: Summary; raw: Summary }; ratio: number };
  deployCachedAgent: { summary: { ours: Summary; raw: Summary }; ratio: number };
  /** Where the time of clone + context + deploy with the image on the host goes, action by action. */
  cachedPhases: PhaseBreakdown;
  /** Each action's median wall time through the agent, image on the host. */
  cachedAgentActions: Record<string, number>;
  /** Terminate (shutdown + the transfer's deletes, through the agent) of the VM with its root disk from the datastore, and made from DOCKVISOR/IMAGE. */
  terminate: { datastore: Summary; image: Summary };
}

const PHASE_RUNS = 3;
const TM_LABELS: CodeLabels = { first: 'bundle load, arguments, config (to 1st call)', between: 'driver code between calls' };

const DATASTORE = '127.0.0.1:5400';
const UPSTREAM_PORT = 5408;
const FIRST_IMAGE_ID = 9890;
const BENCH_VM_ID = 9899;
const RANDOM_BYTES = 24 * 1024 * 1024;

export async function runDatastoreBench(rounds: number, timeoutMs: number, log: (line: string) => void, agentSocket: string): Promise<DatastoreResult> {
  const upstream = new TestRegistry('bench-upstream', UPSTREAM_PORT);
  const bridge = 'dvt-ds9';
  const host = new TestHost('dvt-dc', '198.18.128.11', bridge, '198.18.129.1/24', { remoteForwarding: true });
  const local = new EngineClient({ kind: 'unix', socketPath: ENGINE_SOCKET }, { timeoutMs: 120_000 });
  const registry = new RegistryClient({ address: DATASTORE, tls: false });
  const image = `${upstream.address}/bench/datastore`;
  createBridge(bridge, '198.18.128.1/24');
  try {
    await registry.ping();
    await Promise.all([upstream.start(), host.start()]);
    await buildMarkedImage(local, image, '1', 'bench', RANDOM_BYTES);
    await local.pushImage(image, '1', 120_000);
    await local.removeImage(`${image}:1`);
    const tmConfig = tmConfigFor([host], 'bench');
    const tmConfigDirect = tmConfigFor([host], 'bench-direct', { connectionKeeper: '' });
    const onHost = host.engineOverSsh();
    const vmmConfig = testConfigPath({ engineSocket: host.engine.socket }, 'bench-datastore-vmm.json');

    const cp: number[] = [];
    const rawCopy: number[] = [];
    let source = '';
    for (let i = 0; i < rounds + 1; i++) {
      const imageId = FIRST_IMAGE_ID + (i % 5);
      const run = await runTimed(join(repoRoot, 'remotes/datastore/dockvisor/cp'), [String(imageId)], {
        stdin: dsMessage({ imageId, registry: DATASTORE, path: `docker://${image}:1` }),
        timeoutMs,
      });
      if (run.code !== 0) throw new Error(describeFailure('datastore cp', run));
      source = run.stdout.split(' ')[0]!;
      const started = performance.now();
      await local.pullImage(`${image}:1`, timeoutMs);
      await local.tagImage(`${image}:1`, `${DATASTORE}/bench/raw-${i}`, '1');
      await local.pushImage(`${DATASTORE}/bench/raw-${i}`, '1', timeoutMs);
      const raw = performance.now() - started;
      if (i > 0) {
        cp.push(run.ms);
        rawCopy.push(raw);
      }
      await local.removeImage(`${DATASTORE}/bench/raw-${i}:1`);
      await local.removeImage(`${image}:1`);
      await removeRepository(registry, `bench/raw-${i}`);
      if (i < rounds) await removeRepository(registry, `dockvisor/image-${imageId}`);
      log(`register round ${i}: cp ${Math.round(run.ms)} ms, pull + push ${Math.round(raw)} ms`);
    }

    const reference = source.slice('docker://'.length);
    mkdirSync(resultsDir, { recursive: true });
    const context = join(resultsDir, 'bench-context.sh');
    writeFileSync(context, "DVB='yes'\n");
    const disk = `${host.name}:/var/lib/one//datastores/100/${BENCH_VM_ID}/disk.0`;
    const draft = {
      id: BENCH_VM_ID,
      systemTm: 'dockvisor',
      dockvisor: { CMD: 'sleep infinity' },
      disks: [{ diskId: 0, source, tmMad: 'dockvisor', imageId: FIRST_IMAGE_ID }],
    };
    // With `onAgent`, each action's time through the agent is handed over.
    let onAgent: ((action: string, ms: number) => void) | undefined;
    // With `instrument`, each action runs with the phase marks preloaded and hands its run and marks over.
    let instrument: ((action: string, run: TimedRun, marks: Marks) => void) | undefined;
    const marksPath = join(resultsDir, `datastore-phase-marks-${process.pid}.json`);
    const timed = async (what: string, file: string, args: string[], options: { env: Record<string, string>; stdin?: string }) => {
      const extra: Record<string, string> = instrument ? { NODE_OPTIONS: `--import=${phaseMarksPreload}`, DVB_PHASE_MARKS: marksPath } : {};
      rmSync(marksPath, { force: true });
      const run = await runTimed(file, args, { env: childEnv({ ...options.env, ...extra }), timeoutMs, ...(options.stdin ? { stdin: options.stdin } : {}) });
      if (run.code !== 0) throw new Error(describeFailure(what, run));
      if (instrument) instrument(what, run, JSON.parse(readFileSync(marksPath, 'utf8')) as Marks);
      if (options.env.DOCKVISOR_AGENT_SOCKET && onAgent) onAgent(what, run.ms);
      return run.ms;
    };
    const tm = (action: string, ...argv: string[]) => tmWith(tmConfigDirect, action, ...argv);
    let through = '';
    const tmWith = (config: string, action: string, ...argv: string[]) =>
      timed(`tm ${action}`, join(repoRoot, 'remotes/tm/dockvisor', action), argv, { env: { DOCKVISOR_TM_CONFIG: config, DOCKVISOR_AGENT_SOCKET: through } });
    /** clone + context + deploy; with `viaAgent`, each launcher hands its action to the action agent. */
    const ours = async (config: string, viaAgent = false) => {
      const before = through;
      through = viaAgent ? agentSocket : '';
      try {
        let ms = await tmWith(config, 'clone', source, disk, String(BENCH_VM_ID), '101');
        ms += await tmWith(config, 'context', context, disk.replace(/disk\.0$/, 'disk.1'), String(BENCH_VM_ID), '100');
        ms += await timed(
          'vmm deploy',
          join(repoRoot, 'remotes/vmm/dockvisor/deploy'),
          [`/var/lib/one//datastores/100/${BENCH_VM_ID}/deployment.0`, host.name, String(BENCH_VM_ID), host.name],
          { stdin: vmXml(draft), env: { DOCKVISOR_CONFIG: vmmConfig, DOCKVISOR_AGENT_SOCKET: through } },
        );
        return ms;
      } finally {
        through = before;
      }
    };
    const raw = async () => {
      const started = performance.now();
      if (!(await onHost.findImage(reference))) await withRegistryReach(onHost, DATASTORE, timeoutMs, () => onHost.pullImage(reference, timeoutMs));
      await onHost.createContainer('dvb-raw-datastore', { Image: reference, Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'none', Init: true } });
      await onHost.startContainer('dvb-raw-datastore');
      return performance.now() - started;
    };
    const teardown = async (keepImage: boolean) => {
      await tm('delete', disk, String(BENCH_VM_ID), '101');
      await tm('delete', disk.replace(/\/disk\.0$/, ''), String(BENCH_VM_ID), '100');
      await onHost.removeContainer('dvb-raw-datastore').catch(() => undefined);
      if (!keepImage) await onHost.removeImage(reference).catch(() => undefined);
    };

    // Each round: the raw baseline, the actions on their own (each its own SSH connection), through the
    // connection keeper, and through the keeper with the action agent running them, in an order that rotates so
    // that the machine's drift hits all alike.
    const measure = async (cached: boolean) => {
      const times = { raw: [] as number[], direct: [] as number[], keeper: [] as number[], agent: [] as number[] };
      const kinds = ['raw', 'direct', 'keeper', 'agent'] as const;
      for (let i = 0; i < rounds + 1; i++) {
        const ms: Partial<Record<(typeof kinds)[number], number>> = {};
        for (let k = 0; k < kinds.length; k++) {
          const kind = kinds[(i + k) % kinds.length]!;
          await teardown(cached);
          if (cached && !(await onHost.findImage(reference))) await raw().then(() => teardown(true));
          if (cached && i > 0 && kind === 'agent') onAgent = (action, ms) => agentActions.set(action, [...(agentActions.get(action) ?? []), ms]);
          ms[kind] = kind === 'raw' ? await raw() : await ours(kind === 'direct' ? tmConfigDirect : tmConfig, kind === 'agent');
          onAgent = undefined;
          if (i > 0) times[kind].push(ms[kind]);
        }
        log(`deploy ${cached ? 'cached' : 'not cached'} round ${i}: ${kinds.map((kind) => `${kind} ${Math.round(ms[kind]!)} ms`).join(', ')}`);
      }
      await teardown(false);
      return times;
    };
    const agentActions = new Map<string, number[]>();
    const keeper = await TestKeeper.start(tmConfig);
    let uncached, cached;
    const perRun: Map<string, { ms: number; count: number }>[] = [];
    const totals: number[] = [];
    const terminates = { datastore: [] as number[], image: [] as number[] };
    try {
      uncached = await measure(false);
      cached = await measure(true);

      // Terminate as oned does it (shutdown, then the transfer's delete of each disk and of the VM's directory), of
      // the VM with its root disk from the datastore and of the same VM made from DOCKVISOR/IMAGE, both through the keeper.
      const plain = { id: BENCH_VM_ID, systemTm: 'dockvisor', dockvisor: { IMAGE: reference, CMD: 'sleep infinity' } };
      // Through the action agent, as a front-end and host with their resident parts run them.
      through = agentSocket;
      const vmm = (action: string, args: string[], stdin: string) =>
        timed(`vmm ${action}`, join(repoRoot, 'remotes/vmm/dockvisor', action), args, {
          stdin,
          env: { DOCKVISOR_CONFIG: vmmConfig, DOCKVISOR_AGENT_SOCKET: through },
        });
      const bootPlain = async () => {
        await tmWith(tmConfig, 'context', context, disk.replace(/disk\.0$/, 'disk.1'), String(BENCH_VM_ID), '100');
        await vmm('deploy', [`/var/lib/one//datastores/100/${BENCH_VM_ID}/deployment.0`, host.name, String(BENCH_VM_ID), host.name], vmXml(plain));
      };
      const terminate = async (withDisk: boolean) => {
        let ms = await vmm('shutdown', idArgv(BENCH_VM_ID), actionXml({ ...(withDisk ? draft : plain), lcmState: 12 }));
        if (withDisk) ms += await tmWith(tmConfig, 'delete', disk, String(BENCH_VM_ID), '101');
        return ms + (await tmWith(tmConfig, 'delete', disk.replace(/\/disk\.0$/, ''), String(BENCH_VM_ID), '100'));
      };
      for (let i = 0; i < rounds + 1; i++) {
        const ms: Record<'datastore' | 'image', number> = { datastore: 0, image: 0 };
        for (const kind of i % 2 ? (['image', 'datastore'] as const) : (['datastore', 'image'] as const)) {
          await teardown(true);
          if (kind === 'datastore') await ours(tmConfig, true);
          else await bootPlain();
          ms[kind] = await terminate(kind === 'datastore');
          if (i > 0) terminates[kind].push(ms[kind]);
        }
        log(`terminate round ${i}: datastore root disk ${Math.round(ms.datastore)} ms, DOCKVISOR/IMAGE ${Math.round(ms.image)} ms`);
      }
      through = '';

      // Where the time of a deploy with the image on the host goes: a few instrumented runs through the keeper, each action cut into phases.
      for (let i = 0; i < PHASE_RUNS; i++) {
        await teardown(true);
        const phases = new Map<string, { ms: number; count: number }>();
        instrument = (action, run, marks) => {
          for (const [name, phase] of phasesOf(run, marks, TM_LABELS)) phases.set(`${action}: ${name}`, phase);
        };
        totals.push(await ours(tmConfig));
        instrument = undefined;
        perRun.push(phases);
      }
    } finally {
      instrument = undefined;
      rmSync(marksPath, { force: true });
      await keeper.stop();
    }
    await teardown(false);
    await onHost.close();
    await removeRepository(registry, `dockvisor/image-${FIRST_IMAGE_ID + (rounds % 5)}`);

    const pair = (a: number[], b: number[]) => ({ a: summarize(a), b: summarize(b), ratio: round(summarize(a).median / summarize(b).median) });
    const register = pair(cp, rawCopy);
    const u = pair(uncached.keeper, uncached.raw);
    const c = pair(cached.keeper, cached.raw);
    const ud = pair(uncached.direct, uncached.raw);
    const cd = pair(cached.direct, cached.raw);
    const ua = pair(uncached.agent, uncached.raw);
    const ca = pair(cached.agent, cached.raw);
    return {
      imageMb: round(RANDOM_BYTES / (1024 * 1024) + 4, 0),
      rounds,
      register: { summary: { cp: register.a, raw: register.b }, ratio: register.ratio },
      deployUncached: { summary: { ours: u.a, raw: u.b }, ratio: u.ratio },
      deployCached: { summary: { ours: c.a, raw: c.b }, ratio: c.ratio },
      deployUncachedDirect: { summary: { ours: ud.a, raw: ud.b }, ratio: ud.ratio },
      deployCachedDirect: { summary: { ours: cd.a, raw: cd.b }, ratio: cd.ratio },
      deployUncachedAgent: { summary: { ours: ua.a, raw: ua.b }, ratio: ua.ratio },
      deployCachedAgent: { summary: { ours: ca.a, raw: ca.b }, ratio: ca.ratio },
      cachedPhases: summarizePhases(perRun, totals),
      cachedAgentActions: Object.fromEntries([...agentActions].map(([action, values]) => [action, round(summarize(values).median)])),
      terminate: { datastore: summarize(terminates.datastore), image: summarize(terminates.image) },
    };
  } finally {
    await local.removeImage(`${image}:1`).catch(() => undefined);
    await local.close();
    await registry.close();
    await Promise.allSettled([upstream.stop(), host.stop()]);
    deleteBridge(bridge);
  }
}

/** Deletes a repository's manifests and its links to blobs, so that the next round uploads every layer again. */
async function removeRepository(registry: RegistryClient, repository: string): Promise<void> {
  for (const tag of await registry.listTags(repository)) {
    const manifest = await registry.getManifest(repository, tag);
    const image = parseImageManifest(manifest, repository);
    await registry.deleteManifest(repository, manifest.digest).catch(() => undefined);
    for (const blob of [image.config, ...image.layers]) await registry.deleteBlob(repository, blob.digest);
  }
}

export function formatDatastore(result: DatastoreResult): string {
  const line = (name: string, s: Summary) =>
    `  ${name.padEnd(44)} ${s.median.toFixed(0).padStart(7)} ms median (n=${s.n}, min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`;
  return [
    `Image datastore (image of about ${result.imageMb} MB, ${result.rounds} counted rounds)`,
    line('datastore cp from the upstream registry', result.register.summary.cp),
    line('raw pull + push of the same image', result.register.summary.raw),
    `  ratio cp / raw: ${result.register.ratio}`,
    line('clone + context + deploy, image not on host', result.deployUncachedAgent.summary.ours),
    line('  the same, node per action, with the keeper', result.deployUncached.summary.ours),
    line('  the same, node per action, without it', result.deployUncachedDirect.summary.ours),
    line('raw pull + create + start', result.deployUncached.summary.raw),
    `  ratio through the agent and keeper: ${result.deployUncachedAgent.ratio} (goal <= 1.3); node per action: ${result.deployUncached.ratio} with the keeper, ${result.deployUncachedDirect.ratio} without`,
    line('clone + context + deploy, image on host', result.deployCachedAgent.summary.ours),
    line('  the same, node per action, with the keeper', result.deployCached.summary.ours),
    line('  the same, node per action, without it', result.deployCachedDirect.summary.ours),
    line('raw create + start (image on host)', result.deployCached.summary.raw),
    `  ratio through the agent and keeper: ${result.deployCachedAgent.ratio} (goal <= 1.5); node per action: ${result.deployCached.ratio} with the keeper, ${result.deployCachedDirect.ratio} without`,
    line('terminate through the agent, datastore root disk', result.terminate.datastore),
    line('terminate, the same VM from DOCKVISOR/IMAGE', result.terminate.image),
    `  difference: ${(result.terminate.datastore.median - result.terminate.image.median).toFixed(0)} ms (goal: one registry call, about 10 ms)`,
    `  through the agent, image on host, each action's median: ${Object.entries(result.cachedAgentActions)
      .map(([action, ms]) => `${action} ${ms} ms`)
      .join(', ')}`,
    ...formatActionPhases(result.cachedPhases),
  ].join('\n');
}

/** The phases in the order they happened (the actions one after the other), each with its share of the total. */
function formatActionPhases(breakdown: PhaseBreakdown): string[] {
  const label = (p: { name: string; count: number }) => (p.count > 1 ? `${p.name} (x${p.count})` : p.name);
  const width = Math.max(...breakdown.phases.map((p) => label(p).length));
  return [
    `  where the time goes, image on host (medians of ${breakdown.runs} instrumented runs of ${breakdown.totalMedianMs.toFixed(0)} ms):`,
    ...breakdown.phases.map(
      (p) =>
        `    ${label(p).padEnd(width)}  ${p.medianMs.toFixed(1).padStart(7)} ms  ${((100 * p.medianMs) / breakdown.totalMedianMs).toFixed(0).padStart(3)}%`,
    ),
  ];
}
