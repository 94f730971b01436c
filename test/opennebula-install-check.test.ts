import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { dockvisorOpennebula, dockvisorOpennebulaAsync, fakeFrontEnd, type FakeFrontEnd } from './helpers/front-end.ts';
import { stateDir } from './helpers/paths.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

// `dockvisor opennebula check` on an installed front-end whose oned (a stand-in speaking XML-RPC) lists dockvisor
// hosts and datastores: each host is reached over SSH (a real sshd), each registry asked (a stand-in answering /v2/).
let fe: FakeFrontEnd;
let sshd: TestSshd;
const servers: net.Server[] = [];
let oned = '';
let registry = '';
let closedPort = 0;
let silentPort = 0;
let hosts: string[] = [];
let datastores: string[] = [];

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const answer = (body: string) =>
  `<?xml version="1.0"?><methodResponse><params><param><value><array><data><value><boolean>1</boolean></value><value><string>${escape(body)}</string></value><value><i4>0</i4></value></data></array></value></param></params></methodResponse>`;
const hostXml = (id: number, name: string, mad: string) =>
  `<HOST><ID>${id}</ID><NAME>${name}</NAME><STATE>2</STATE><IM_MAD><![CDATA[${mad}]]></IM_MAD><VM_MAD><![CDATA[${mad}]]></VM_MAD><CLUSTER_ID>0</CLUSTER_ID><HOST_SHARE><DATASTORES></DATASTORES></HOST_SHARE></HOST>`;
const datastoreXml = (id: number, name: string, dsMad: string, tmMad: string, template: string) =>
  `<DATASTORE><ID>${id}</ID><NAME>${name}</NAME><DS_MAD><![CDATA[${dsMad}]]></DS_MAD><TM_MAD><![CDATA[${tmMad}]]></TM_MAD><TYPE>${dsMad === '-' ? 1 : 0}</TYPE><TEMPLATE>${template}</TEMPLATE></DATASTORE>`;

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

test.before(async () => {
  fe = fakeFrontEnd('7.4.0');
  const installed = dockvisorOpennebula(['install', ...fe.flags, '--one-version', '7.4.0']);
  if (installed.status !== 0) throw new Error(installed.stderr);
  sshd = await startSshd('oneinst-check');
  const onedPort = await listen(
    http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const method = /<methodName>([^<]+)<\/methodName>/.exec(body)?.[1];
        const pool =
          method === 'one.hostpool.info'
            ? `<HOST_POOL>${hosts.join('')}</HOST_POOL>`
            : method === 'one.datastorepool.info'
              ? `<DATASTORE_POOL>${datastores.join('')}</DATASTORE_POOL>`
              : undefined;
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(pool ? answer(pool) : '<?xml version="1.0"?><methodResponse><fault><value><struct></struct></value></fault></methodResponse>');
      });
    }),
  );
  oned = `http://127.0.0.1:${onedPort}/RPC2`;
  const registryPort = await listen(
    http.createServer((request, response) => {
      response.writeHead(request.url === '/v2/' ? 200 : 404, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      response.end('{}');
    }),
  );
  registry = `127.0.0.1:${registryPort}`;
  silentPort = await listen(net.createServer(() => undefined));
  const closed = net.createServer();
  closedPort = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  const key = join(fe.dir, 'oneadmin_key');
  writeFileSync(key, sshd.privateKey, { mode: 0o600 });
  const hostKey = readFileSync(join(stateDir, 'sshd-oneinst-check/host_ed25519.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = join(fe.dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${hostKey}\n`);
  writeFileSync(
    join(fe.remotes, 'etc/tm/dockvisor/dockvisor.conf'),
    JSON.stringify({
      defaults: { user: 'root', privateKeyPath: key, knownHostsFile: knownHosts },
      hosts: {
        node1: { address: '127.0.0.1', port: sshd.port },
        node2: { address: '127.0.0.1', port: closedPort },
        node3: { address: '127.0.0.1', port: silentPort },
      },
    }),
  );
  writeFileSync(join(fe.dir, 'one_auth'), 'oneadmin:SECRET\n', { mode: 0o600 });
});

test.after.always(async () => {
  await sshd?.stop();
  for (const server of servers) server.close();
  fe?.cleanup();
});

async function check(extra: string[] = [], env: Record<string, string | undefined> = { ONE_XMLRPC: oned, ONE_AUTH: join(fe.dir, 'one_auth') }) {
  const started = Date.now();
  const run = await dockvisorOpennebulaAsync(['check', ...fe.flags, '--one-version', '7.4.0', ...extra], env, fe.dir);
  return { ...run, elapsedMs: Date.now() - started, lines: run.stdout.split('\n').filter(Boolean) };
}

test.serial("each dockvisor host is reached over SSH as the transfer config says and its node checked; other drivers' hosts are not", async (t) => {
  hosts = [hostXml(0, 'node1', 'dockvisor'), hostXml(1, 'kvm1', 'kvm')];
  datastores = [];
  const run = await check();
  t.is(run.status, 0, run.stdout + run.stderr);
  t.true(run.lines.includes(`ok       host node1 (id 0): SSH as root@127.0.0.1:${sshd.port}: node ${process.version}`), run.stdout);
  t.true(run.lines.includes("ok       python3 for the transfer actions' agent: /usr/bin/python3"), run.stdout);
  t.false(run.stdout.includes('kvm1'));
  t.true(run.lines.includes('skipped  dockvisor image datastores: OpenNebula has none yet'));
});

test.serial('a host that refuses or never answers is wrong, each within the timeout', async (t) => {
  hosts = [hostXml(0, 'node1', 'dockvisor'), hostXml(2, 'node2', 'dockvisor'), hostXml(3, 'node3', 'dockvisor')];
  datastores = [];
  const run = await check(['--timeout', '1500']);
  t.is(run.status, 1);
  t.regex(
    run.stdout,
    new RegExp(
      `^wrong    host node2 \\(id 2\\): SSH as root@127\\.0\\.0\\.1:${closedPort}: SSH to 127\\.0\\.0\\.1:${closedPort} failed: connect ECONNREFUSED`,
      'm',
    ),
  );
  t.regex(run.stdout, new RegExp(`^wrong    host node3 \\(id 3\\): SSH as root@127\\.0\\.0\\.1:${silentPort}: .*(did not answer|no answer) within`, 'm'));
  t.regex(run.stdout, /^ok {7}host node1 /m);
  t.true(run.elapsedMs < 15_000, `${run.elapsedMs} ms`);
  t.regex(run.lines.at(-1)!, /^2 problems/);
});

test.serial("each dockvisor image datastore's registry is asked from the front-end", async (t) => {
  hosts = [];
  datastores = [
    datastoreXml(100, 'dockvisor_system', '-', 'dockvisor', ''),
    datastoreXml(101, 'docker_images', 'dockvisor', 'dockvisor', `<REGISTRY><![CDATA[${registry}]]></REGISTRY>`),
    datastoreXml(102, 'gone_registry', 'dockvisor', 'dockvisor', `<REGISTRY><![CDATA[127.0.0.1:${closedPort}]]></REGISTRY>`),
    datastoreXml(103, 'no_registry', 'dockvisor', 'dockvisor', ''),
    datastoreXml(1, 'default', 'fs', 'ssh', ''),
  ];
  const run = await check(['--timeout', '3000']);
  t.is(run.status, 1);
  t.true(run.lines.includes(`ok       datastore 101 (docker_images): registry ${registry}: answers`), run.stdout);
  t.regex(run.stdout, new RegExp(`^wrong    datastore 102 \\(gone_registry\\): registry 127\\.0\\.0\\.1:${closedPort}: `, 'm'));
  t.true(run.lines.includes('wrong    datastore 103 (no_registry): datastore 103: REGISTRY = "host:port" is missing from the datastore template'), run.stdout);
  t.false(run.stdout.includes('datastore 100'));
  t.false(run.stdout.includes('datastore 1 '));
  t.true(run.lines.includes('skipped  dockvisor hosts: OpenNebula has none yet'));
});

test.serial('without credentials the OpenNebula checks are skipped, which fails nothing; an oned that does not answer is wrong', async (t) => {
  const skipped = await check([], {});
  t.is(skipped.status, 0, skipped.stdout);
  t.regex(
    skipped.stdout,
    /^skipped {2}OpenNebula hosts and datastores: no OpenNebula credentials: set ONE_AUTH or create .*\/\.one\/one_auth \(user:password\); not checked$/m,
  );
  const silent = await check(['--timeout', '1000'], { ONE_XMLRPC: `http://127.0.0.1:${silentPort}/RPC2`, ONE_AUTH: join(fe.dir, 'one_auth') });
  t.is(silent.status, 1);
  t.regex(
    silent.stdout,
    /^wrong {4}OpenNebula hosts and datastores: one\.hostpool\.info: oned at http:\/\/127\.0\.0\.1:\d+\/RPC2 did not answer within 1000 ms$/m,
  );
  t.true(silent.elapsedMs < 10_000, `${silent.elapsedMs} ms`);
});

test.serial('a host key oneadmin cannot read is a check that cannot be made here, not a failure', async (t) => {
  hosts = [hostXml(0, 'node1', 'dockvisor')];
  datastores = [];
  const config = join(fe.remotes, 'etc/tm/dockvisor/dockvisor.conf');
  const saved = readFileSync(config, 'utf8');
  try {
    writeFileSync(config, JSON.stringify({ ...JSON.parse(saved), defaults: { user: 'oneadmin', privateKeyPath: join(fe.dir, 'no-such-key') } }));
    const run = await check();
    t.is(run.status, 0, run.stdout);
    t.regex(
      run.stdout,
      /^skipped {2}host node1 \(id 0\): SSH as oneadmin@127\.0\.0\.1:\d+: .*no-such-key cannot be read here \(ENOENT\); run the check as root or oneadmin$/m,
    );
  } finally {
    writeFileSync(config, saved);
  }
});
