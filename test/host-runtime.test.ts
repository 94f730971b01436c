import test from 'ava';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProvisionContext } from '../drivers/machine/provision/context.ts';
import { runtimeStep } from '../drivers/machine/provision/runtime-step.ts';
import { RUNTIME_VERSION, SYSTEM_RUNTIME_DIR } from '../drivers/runtime/runtime.ts';
import { SshSession } from '../drivers/hosts/ssh-session.ts';
import { createBridge, deleteBridge } from './helpers/net.ts';
import { repoRoot, stateDir } from './helpers/paths.ts';
import { TestHost } from './helpers/test-host.ts';
import { testIds } from './helpers/test-ids.ts';

// A host whose distribution's node is 18, as Debian 12's and Ubuntu 24.04's are: a fake one first on the SSH PATH.
const work = join(stateDir, 'host-runtime');
const oldNodeDir = join(work, 'distribution-bin');
const ids = testIds(import.meta.filename);
const bridge = ids.bridge('0');
const host = new TestHost('dvt-rt', ids.address(0, 11), bridge, undefined, { environment: { PATH: `${oldNodeDir}:/usr/sbin:/usr/bin:/sbin:/bin` } });
const runtimeDir = join(work, 'usr-lib-dockvisor', 'node');
let session: SshSession;

test.before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(oldNodeDir, { recursive: true });
  writeFileSync(join(oldNodeDir, 'node'), '#!/bin/sh\necho v18.19.0\n');
  chmodSync(join(oldNodeDir, 'node'), 0o755);
  createBridge(bridge, ids.cidr(0, 1));
  await host.start();
  const key = join(work, 'id');
  writeFileSync(key, host.ssh.privateKey, { mode: 0o600 });
  session = await SshSession.connect(
    { user: 'root', address: host.address, port: 22 },
    { identityFile: key, knownHostsFile: join(work, 'known_hosts'), acceptNewHostKey: true },
  );
});
test.after.always(async () => {
  session?.close();
  await host.stop();
  deleteBridge(bridge);
  rmSync(work, { recursive: true, force: true });
});

const context = () =>
  new ProvisionContext(
    { name: 'dvt-rt', ssh: { user: 'root', address: host.address, port: 22 }, steps: {}, createdAt: '', updatedAt: '' },
    session,
    process.env,
    runtimeDir,
  );

test.serial("the driver's launchers run on dockvisor's runtime, not on the distribution's older node", async (t) => {
  t.is((await session.must('node --version')).trim(), 'v18.19.0', "the host's own node is the old one");
  const deploy = await session.run(`${join(repoRoot, 'remotes/vmm/dockvisor/deploy')} /x/deployment.0 h 1 h`);
  t.is(deploy.code, 1);
  t.regex(deploy.stderr, /^dockvisor deploy: /, 'the driver itself answered, on a node new enough for it');
  t.is((await session.must(`${SYSTEM_RUNTIME_DIR}/bin/node --version`)).trim(), `v${RUNTIME_VERSION}`);
});

test.serial('provisioning puts the pinned runtime in its own directory over SSH, checks it byte for byte and leaves the system node alone', async (t) => {
  t.like(await runtimeStep.check(context()), { ok: false, detail: `${runtimeDir} is missing` });
  await runtimeStep.apply!(context());
  t.like(await runtimeStep.check(context()), { ok: true });
  t.is((await session.must(`${runtimeDir}/bin/node --version`)).trim(), `v${RUNTIME_VERSION}`);
  t.is(readFileSync(join(oldNodeDir, 'node'), 'utf8'), '#!/bin/sh\necho v18.19.0\n', "the distribution's node is untouched");

  truncateSync(join(runtimeDir, 'bin/node'), 1000); // damaged, or another version
  t.like(await runtimeStep.check(context()), { ok: false, detail: `${runtimeDir} holds another node than ${RUNTIME_VERSION}` });
  await runtimeStep.apply!(context());
  t.like(await runtimeStep.check(context()), { ok: true });
  t.false(existsSync(`${runtimeDir}.new`) || existsSync(`${runtimeDir}.old`), 'nothing is left beside it');
});
