import { mkdirSync, writeFileSync } from 'node:fs';
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
import { testConfigPath } from '../test/helpers/vmm.ts';
import { vmXml } from '../drivers/opennebula/vm-document-builder.ts';
import { childEnv, describeFailure, runTimed } from './child-process.ts';
import { ENGINE_SOCKET, repoRoot, resultsDir } from './settings.ts';
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
}

const DATASTORE = '127.0.0.1:5400';
const UPSTREAM_PORT = 5408;
const FIRST_IMAGE_ID = 9890;
const BENCH_VM_ID = 9899;
const RANDOM_BYTES = 24 * 1024 * 1024;

export async function runDatastoreBench(rounds: number, timeoutMs: number, log: (line: string) => void): Promise<DatastoreResult> {
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
    const tm = async (action: string, ...argv: string[]) => {
      const run = await runTimed(join(repoRoot, 'remotes/tm/dockvisor', action), argv, { env: childEnv({ DOCKVISOR_TM_CONFIG: tmConfig }), timeoutMs });
      if (run.code !== 0) throw new Error(describeFailure(`tm ${action}`, run));
      return run.ms;
    };
    const ours = async () => {
      let ms = await tm('clone', source, disk, String(BENCH_VM_ID), '101');
      ms += await tm('context', context, disk.replace(/disk\.0$/, 'disk.1'), String(BENCH_VM_ID), '100');
      const deploy = await runTimed(
        join(repoRoot, 'remotes/vmm/dockvisor/deploy'),
        [`/var/lib/one//datastores/100/${BENCH_VM_ID}/deployment.0`, host.name, String(BENCH_VM_ID), host.name],
        {
          stdin: vmXml(draft),
          env: childEnv({ DOCKVISOR_CONFIG: vmmConfig }),
          timeoutMs,
        },
      );
      if (deploy.code !== 0) throw new Error(describeFailure('vmm deploy', deploy));
      return ms + deploy.ms;
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

    const measure = async (cached: boolean) => {
      const oursMs: number[] = [];
      const rawMs: number[] = [];
      for (let i = 0; i < rounds + 1; i++) {
        await teardown(cached);
        if (cached && !(await onHost.findImage(reference))) await raw().then(() => teardown(true));
        const a = i % 2 ? await raw() : await ours();
        await teardown(cached);
        const b = i % 2 ? await ours() : await raw();
        if (i > 0) {
          oursMs.push(i % 2 ? b : a);
          rawMs.push(i % 2 ? a : b);
        }
        log(`deploy ${cached ? 'cached' : 'not cached'} round ${i}: ours ${Math.round(i % 2 ? b : a)} ms, raw ${Math.round(i % 2 ? a : b)} ms`);
      }
      await teardown(false);
      return { ours: oursMs, raw: rawMs };
    };
    const uncached = await measure(false);
    const cached = await measure(true);
    await onHost.close();
    await removeRepository(registry, `dockvisor/image-${FIRST_IMAGE_ID + (rounds % 5)}`);

    const pair = (a: number[], b: number[]) => ({ a: summarize(a), b: summarize(b), ratio: round(summarize(a).median / summarize(b).median) });
    const register = pair(cp, rawCopy);
    const u = pair(uncached.ours, uncached.raw);
    const c = pair(cached.ours, cached.raw);
    return {
      imageMb: round(RANDOM_BYTES / (1024 * 1024) + 4, 0),
      rounds,
      register: { summary: { cp: register.a, raw: register.b }, ratio: register.ratio },
      deployUncached: { summary: { ours: u.a, raw: u.b }, ratio: u.ratio },
      deployCached: { summary: { ours: c.a, raw: c.b }, ratio: c.ratio },
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
    line('clone + context + deploy, image not on host', result.deployUncached.summary.ours),
    line('raw pull + create + start', result.deployUncached.summary.raw),
    `  ratio: ${result.deployUncached.ratio}`,
    line('clone + context + deploy, image on host', result.deployCached.summary.ours),
    line('raw create + start (image on host)', result.deployCached.summary.raw),
    `  ratio: ${result.deployCached.ratio}`,
  ].join('\n');
}
