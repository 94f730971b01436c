import test from 'ava';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containersOf, realEngine, removeContainersOf } from './helpers/engine.ts';
import { runInside } from './helpers/net.ts';
import { stateDir } from './helpers/paths.ts';
import { runAction, testConfigPath } from './helpers/vmm.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from './helpers/vm-xml.ts';
import { testIds } from './helpers/test-ids.ts';

const ids = testIds(import.meta.filename);
const [PLAIN, WRITER, READER, SWAPPED] = [ids.vm(0), ids.vm(1), ids.vm(2), ids.vm(3)];
const ALL = [PLAIN, WRITER, READER, SWAPPED];
mkdirSync(stateDir, { recursive: true });
const root = join(realpathSync(stateDir), 'allowed-mount-root');
const driverState = join(realpathSync(stateDir), 'host-mounts-state');
const config = () => testConfigPath({ stateDir: driverState, allow: { hostMountRoots: [root] } }, 'host-mounts.json');
const vm = (id: number, mounts: string): VmDraft => ({ id, nics: [], dockvisor: { MOUNTS: mounts, CMD: 'sleep 3600' } });
const staging = (id: number) => join(driverState, '0', 'mounts', `one-${id}`);

function mountedAt(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

async function pidOf(id: number): Promise<number> {
  return (await (await realEngine()).inspectContainer(`one-${id}`)).State.Pid;
}

async function terminate(id: number, mounts: string): Promise<void> {
  await runAction('cancel', idArgv(id), actionXml({ ...vm(id, mounts), lcmState: 12 }), config());
}

test.before(async () => {
  await removeContainersOf(await realEngine(), ALL);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(root, 'data', 'hello'), 'from the host\n');
});
test.after.always(async () => {
  await removeContainersOf(await realEngine(), ALL);
  rmSync(root, { recursive: true, force: true });
});

test.serial('a VM mounts a directory below an allowed root through a staged mount, which terminate removes', async (t) => {
  const mounts = `${root}/data:/data`;
  const deployed = await runAction('deploy', deployArgv(PLAIN), vmXml(vm(PLAIN, mounts)), config());
  t.is(deployed.code, 0, deployed.stderr);
  t.is(runInside(await pidOf(PLAIN), 'cat', '/data/hello'), 'from the host\n');
  t.true(mountedAt(join(staging(PLAIN), '0')), 'the engine mounts the staging path, which holds the checked directory');

  await terminate(PLAIN, mounts);
  t.deepEqual(await containersOf(await realEngine(), [PLAIN]), []);
  t.false(mountedAt(join(staging(PLAIN), '0')));
  t.false(existsSync(staging(PLAIN)), 'nothing of the staging is left');
});

test.serial('a symbolic link below an allowed root is refused, also one a VM wrote there', async (t) => {
  const writerMounts = `${root}:/shared`;
  const writer = await runAction('deploy', deployArgv(WRITER), vmXml(vm(WRITER, writerMounts)), config());
  t.is(writer.code, 0, writer.stderr);
  runInside(await pidOf(WRITER), 'ln', '-s', '/', '/shared/escape');
  symlinkSync('/etc', join(root, 'etc-link'));
  try {
    for (const path of [`${root}/escape`, `${root}/escape/etc`, `${root}/etc-link`]) {
      const result = await runAction('deploy', deployArgv(READER), vmXml(vm(READER, `${path}:/host`)), config());
      t.is(result.code, 1, path);
      t.is(result.stdout, '');
      t.regex(result.stderr, /^dockvisor deploy: VM 8103: host path .* is refused: .* is a symbolic link \(host mounts must name real paths\)\n$/);
      t.deepEqual(await containersOf(await realEngine(), [READER]), [], 'nothing was created');
    }
  } finally {
    await terminate(WRITER, writerMounts);
    rmSync(join(root, 'escape'), { force: true });
    rmSync(join(root, 'etc-link'), { force: true });
  }
});

test.serial('a directory swapped for a link after the check never reaches the engine', async (t) => {
  const swap = join(root, 'swap');
  mkdirSync(swap, { recursive: true });
  writeFileSync(join(swap, 'marker'), 'checked\n');
  const mounts = `${swap}:/data`;
  const deployed = await runAction('deploy', deployArgv(SWAPPED), vmXml(vm(SWAPPED, mounts)), config());
  t.is(deployed.code, 0, deployed.stderr);
  try {
    // What a VM that can write the root could do between a check and a mount.
    renameSync(swap, `${swap}.orig`);
    symlinkSync('/', swap);
    const pid = await pidOf(SWAPPED);
    t.is(runInside(pid, 'cat', '/data/marker'), 'checked\n', 'the VM keeps the directory that was checked');
    t.throws(() => runInside(pid, 'cat', '/data/etc/hostname'), undefined, "the host's root never appears in the VM");

    t.is((await runAction('shutdown', idArgv(SWAPPED), actionXml({ ...vm(SWAPPED, mounts), lcmState: 18 }), config())).code, 0);
    const resumed = await runAction('deploy', deployArgv(SWAPPED), vmXml({ ...vm(SWAPPED, mounts), lcmState: 20 }), config());
    t.is(resumed.code, 1, 'resume checks the path again');
    t.regex(resumed.stderr, /host path .*\/swap is refused: .*\/swap is a symbolic link/);
    t.deepEqual(await containersOf(await realEngine(), [SWAPPED]), [`one-${SWAPPED}`], 'the powered-off VM is kept, with its data');
  } finally {
    await terminate(SWAPPED, mounts);
    rmSync(swap, { force: true });
    rmSync(`${swap}.orig`, { recursive: true, force: true });
  }
});

test.serial("dockvisor's own staging cannot be mounted into a VM", async (t) => {
  const wide = testConfigPath({ stateDir: driverState, allow: { hostMountRoots: [realpathSync(stateDir)] } }, 'host-mounts-wide.json');
  const result = await runAction('deploy', deployArgv(READER), vmXml(vm(READER, `${driverState}:/x`)), wide);
  t.is(result.code, 1);
  t.regex(result.stderr, /holds dockvisor's own mount staging/);
  t.deepEqual(await containersOf(await realEngine(), [READER]), []);
});
