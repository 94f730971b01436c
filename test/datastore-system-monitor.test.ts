import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { callOf, recordedRequest, recordedResponse } from './helpers/oned-mock.ts';
import { recorded, repoRoot, stateDir } from './helpers/paths.ts';

const run = promisify(execFile);
const monitor = join(repoRoot, 'remotes/tm/dockvisor/monitor');

// The system datastore 100 as oned describes it to tm/dockvisor/monitor: the recorded datastore document,
// made the system one (TYPE 1) of cluster 0.
const systemDatastore = readFileSync(join(recorded, 'ds-monitor.decoded.xml'), 'utf8')
  .replace('<ID>101</ID>', '<ID>100</ID>')
  .replace('<NAME>dockvisor_images</NAME>', '<NAME>system</NAME>')
  .replace('<TYPE>0</TYPE>', '<TYPE>1</TYPE>');

/** The recorded host pool with the storage figures the hosts' monitoring would have sent. */
function hostPoolWith(datastores: string): string {
  const escaped = datastores.replace(/</g, '&lt;').replace(/>/g, '&gt;');
  let first = true;
  return recordedResponse('hostpool-info').replace(/&lt;DATASTORES&gt;.*?&lt;\/DATASTORES&gt;/g, (block) => {
    if (!first) return block.replace(/\[CDATA\[0\]\]/g, '[CDATA[999999]]'); // the dummy-driver host: never counted
    first = false;
    return escaped;
  });
}

async function withOned(pool: string, body: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const known = callOf(text) === callOf(recordedRequest('hostpool-info'));
      response.writeHead(known ? 200 : 500, { 'Content-Type': 'text/xml' }).end(known ? pool : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}/RPC2`);
  } finally {
    server.close();
  }
}

// Written once: the tests of this file run at the same time, and a file being rewritten can be read empty.
const auth = join(stateDir, 'one_auth-system-monitor');
test.before(() => {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(auth, 'oneadmin:SECRET\n', { mode: 0o600 });
});

function monitorRun(url: string, stdin: string, argv = ['100']): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(monitor, argv, { env: { ...process.env, ONE_XMLRPC: url, ONE_AUTH: auth }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin);
  });
}

test('tm monitor: the system datastore holds what its dockvisor hosts report of their Docker storage', async (t) => {
  const pool = hostPoolWith(
    '<DATASTORES><DISK_USAGE><![CDATA[0]]></DISK_USAGE><FREE_DISK><![CDATA[30000]]></FREE_DISK><MAX_DISK><![CDATA[50000]]></MAX_DISK><USED_DISK><![CDATA[20000]]></USED_DISK></DATASTORES>',
  );
  await withOned(pool, async (url) => {
    const result = await monitorRun(url, Buffer.from(systemDatastore).toString('base64'));
    t.is(result.code, 0, result.stderr);
    t.is(result.stdout, 'USED_MB=20000\nTOTAL_MB=50000\nFREE_MB=30000\n');
  });
});

test("tm monitor: a host's own figure for this datastore wins over its data root's; 6.6's argv form works", async (t) => {
  const pool = hostPoolWith(
    '<DATASTORES><DISK_USAGE><![CDATA[0]]></DISK_USAGE><FREE_DISK><![CDATA[30000]]></FREE_DISK><MAX_DISK><![CDATA[50000]]></MAX_DISK><USED_DISK><![CDATA[20000]]></USED_DISK>' +
      '<DS><FREE_MB><![CDATA[700]]></FREE_MB><ID><![CDATA[100]]></ID><TOTAL_MB><![CDATA[1000]]></TOTAL_MB><USED_MB><![CDATA[300]]></USED_MB></DS></DATASTORES>',
  );
  await withOned(pool, async (url) => {
    const result = await monitorRun(url, '', [Buffer.from(systemDatastore).toString('base64'), '100']);
    t.is(result.code, 0, result.stderr);
    t.is(result.stdout, 'USED_MB=300\nTOTAL_MB=1000\nFREE_MB=700\n');
  });
});

test('tm monitor: no oned, no credentials or a hostile document is one line and exit 1', async (t) => {
  const closed = await monitorRun('http://127.0.0.1:9/RPC2', Buffer.from(systemDatastore).toString('base64'));
  t.is(closed.code, 1);
  t.regex(closed.stderr, /^dockvisor tm monitor: one\.hostpool\.info: cannot talk to oned at http:\/\/127\.0\.0\.1:9\/RPC2: [^\n]+\n$/);
  for (const stdin of [
    'not base64 !',
    Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]><DS_DRIVER_ACTION_DATA/>').toString('base64'),
    Buffer.from('<DS_DRIVER_ACTION_DATA><DATASTORE><ID>x;rm</ID></DATASTORE></DS_DRIVER_ACTION_DATA>').toString('base64'),
  ]) {
    const result = await monitorRun('http://127.0.0.1:9/RPC2', stdin);
    t.is(result.code, 1, stdin);
    t.regex(result.stderr, /^dockvisor tm monitor: [^\n]+\n$/);
  }
});
