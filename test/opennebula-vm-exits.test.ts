import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realEngine, removeContainersOf } from './helpers/engine.ts';
import { monitorOf, probesRoot, runProbe } from './helpers/monitord-client.ts';
import { BASE_IMAGE, recorded, stateDir } from './helpers/paths.ts';
import { testIds } from './helpers/test-ids.ts';
import { deployArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';

// What the monitoring tells OpenNebula about a VM beyond its state: the image's HEALTHCHECK, and how a VM that
// stopped by itself ended (exit code, last lines, an OOM kill named as such).
const ids = testIds(import.meta.filename);
const HEALTHY = ids.vm(0);
const EXITED = ids.vm(1);
const OOM = ids.vm(2);
const ALL = [HEALTHY, EXITED, OOM];
const HEALTH_IMAGE = 'dvt-health:latest';
const probeConfig = readFileSync(join(recorded, 'probe.stdin.xml'), 'utf8');
const dir = join(stateDir, 'vm-exits');
const configPath = testConfigPath({ stateDir: dir, imagePull: 'never' }, 'vm-exits.json');
const env = { ...process.env, DOCKVISOR_CONFIG: configPath };

const healthy: VmDraft = { id: HEALTHY, dockvisor: { IMAGE: HEALTH_IMAGE, CMD: `sh -c 'touch /healthy; sleep 3600'` } };
const exited: VmDraft = { id: EXITED, dockvisor: { CMD: `sh -c 'echo first line; sleep 2; echo "the last words" >&2; exit 3'` } };
const oom: VmDraft = { id: OOM, memory: '16', dockvisor: { CMD: `sh -c 'echo filling; sleep 2; x=$(head -c 200000000 /dev/zero | tr "\\\\0" a)'` } };

/** vm/status reports only changes after its first run: each run here starts from no state, so it is a full report. */
const probe = (path: string) => {
  if (path.startsWith('vm/status/')) rmSync(dir, { recursive: true, force: true });
  return runProbe(join(probesRoot, path), probeConfig, env);
};

/** Polls the probe until `found` accepts its output (bounded). */
async function until(path: string, found: (output: string) => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  let output = '';
  while (Date.now() < deadline) {
    const result = await probe(path);
    if (result.code !== 0) throw new Error(`${path}: ${result.stderr}`);
    output = result.stdout;
    if (found(output)) return output;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${path} never showed what was expected; last output:\n${output}`);
}

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  await removeContainersOf(await realEngine(), ALL);
  const context = mkdtempSync(join(tmpdir(), 'dvt-health-'));
  writeFileSync(join(context, 'Dockerfile'), `FROM ${BASE_IMAGE}\nHEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD test -f /healthy\n`);
  execFileSync('docker', ['build', '-q', '-t', HEALTH_IMAGE, context], { stdio: 'ignore' });
  rmSync(context, { recursive: true, force: true });
  for (const vm of [healthy, exited, oom]) {
    const deployed = await runAction('deploy', deployArgv(vm.id), vmXml(vm), configPath);
    if (deployed.code !== 0) throw new Error(deployed.stderr);
  }
});
test.after.always(async () => {
  await removeContainersOf(await realEngine(), ALL);
  await (await realEngine()).removeImage(HEALTH_IMAGE).catch(() => undefined);
});

test.serial("vm/monitor reports the image's HEALTHCHECK as HEALTH", async (t) => {
  const output = await until('vm/monitor/dockvisor_usage.sh', (out) => monitorOf(out, HEALTHY)?.HEALTH === 'healthy');
  t.is(monitorOf(output, HEALTHY)?.HEALTH, 'healthy');
  t.is(monitorOf(output, EXITED)?.HEALTH, undefined);
});

test.serial('a VM that exits by itself is a FAILURE with its exit code and last lines in its monitoring', async (t) => {
  await until('vm/status/dockvisor_state.sh', (out) => out.includes(`ID="${EXITED}", DEPLOY_ID="one-${EXITED}", STATE="FAILURE"`));
  const keys = monitorOf(await until('vm/monitor/dockvisor_usage.sh', (out) => monitorOf(out, EXITED)?.EXIT_CODE !== undefined), EXITED)!;
  t.is(keys.EXIT_CODE, '3');
  t.is(keys.EXIT_REASON, 'exited');
  t.regex(keys.LAST_OUTPUT!, /first line \| the last words$/);
  t.is(keys.ERROR, 'exited by itself with code 3; last output: first line | the last words');
});

test.serial('a VM the kernel killed for want of memory is a FAILURE named as an OOM kill, not a poweroff', async (t) => {
  await until('vm/status/dockvisor_state.sh', (out) => out.includes(`ID="${OOM}", DEPLOY_ID="one-${OOM}", STATE="FAILURE"`));
  const keys = monitorOf(await until('vm/monitor/dockvisor_usage.sh', (out) => monitorOf(out, OOM)?.EXIT_REASON !== undefined), OOM)!;
  t.is(keys.EXIT_CODE, '137');
  t.is(keys.EXIT_REASON, 'oom');
  t.regex(keys.ERROR!, /^killed by the kernel for want of memory \(out of memory\); last output: filling/);
});
