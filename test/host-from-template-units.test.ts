import test from 'ava';
import nock from 'nock';
import { OneRpc } from '../drivers/opennebula/rpc/one-rpc.ts';
import { instantiateTemplateText } from '../drivers/opennebula/rpc/instantiate-template-text.ts';
import { nicAddress } from '../drivers/opennebula/rpc/vm-address.ts';
import { findNetwork, findTemplate, instantiateTemplate, terminateVm, vmInfo, vmsNamed } from '../drivers/opennebula/rpc/vms.ts';
import type { CloudVm, CloudVms } from '../drivers/machine/cloud-vms.ts';
import { vmsHoldingHostKey } from '../drivers/machine/host-vm-lookup.ts';
import { ONED, recordedResponse, replay, SESSION } from './helpers/oned-mock.ts';

const rpc = () => new OneRpc({ url: `${ONED}/RPC2`, session: SESSION }, 5000);

test.before(() => nock.disableNetConnect());
test.after.always(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

test('the address is the first NIC’s EXTERNAL_IP, else IP, else IP6_GLOBAL', (t) => {
  const context = { ETH0_NETWORK: '198.18.7.0', ETH0_MASK: '255.255.255.0' };
  t.deepEqual(nicAddress({ NIC_ID: '0', EXTERNAL_IP: '203.0.113.9', IP: '198.18.7.10' }, context), { address: '203.0.113.9' });
  t.deepEqual(nicAddress({ NIC_ID: '0', IP: '198.18.7.10', IP6_GLOBAL: '2001:db8::10' }, context), { address: '198.18.7.10' });
  t.deepEqual(nicAddress({ NIC_ID: '0', IP6_GLOBAL: '2001:db8::10' }, context), { address: '2001:db8::10' });
  t.is(nicAddress({ NIC_ID: '0', MAC: '02:00:c6:12:07:0a' }, context), undefined, 'no address yet');
  t.is(nicAddress(undefined, context), undefined, 'no NIC');
});

test('an address no host can have, or a leased IP outside the NIC’s network, is refused', (t) => {
  const context = { ETH0_NETWORK: '198.18.7.0', ETH0_MASK: '255.255.255.0', ETH1_NETWORK: '10.0.0.0', ETH1_MASK: '255.0.0.0' };
  const refusal = (nic: Record<string, string>) => {
    const found = nicAddress(nic, context);
    return found && 'refusal' in found ? found.refusal : undefined;
  };
  t.is(refusal({ IP: '127.0.0.1' }), 'the VM\'s NIC gives IP "127.0.0.1", which no host can be reached at');
  t.is(refusal({ IP: '0.0.0.0' }), 'the VM\'s NIC gives IP "0.0.0.0", which no host can be reached at');
  t.is(refusal({ EXTERNAL_IP: '239.1.1.1' }), 'the VM\'s NIC gives EXTERNAL_IP "239.1.1.1", which no host can be reached at');
  t.is(refusal({ IP6_GLOBAL: 'fe80::1' }), 'the VM\'s NIC gives IP6_GLOBAL "fe80::1", which no host can be reached at');
  t.is(refusal({ IP: 'evil.example.com' }), 'the VM\'s NIC gives IP "evil.example.com", which is not an IP address');
  t.is(refusal({ IP: '198.18.7.10 -oProxyCommand=id' }), 'the VM\'s NIC gives IP "198.18.7.10 -oProxyCommand=id", which is not an IP address');
  t.is(refusal({ NIC_ID: '0', IP: '198.18.8.10' }), 'the VM\'s NIC gives IP "198.18.8.10", outside the NIC\'s network 198.18.7.0/255.255.255.0');
  t.is(refusal({ NIC_ID: '1', IP: '10.9.8.7' }), undefined, "each NIC is checked against its own context's network");
});

test('the extra template carries the template’s CONTEXT with the host’s on top, in XML when a value needs it', (t) => {
  const text = instantiateTemplateText(
    [
      ['NETWORK', 'YES'],
      ['SET_HOSTNAME', '$NAME'],
      ['GREETING', 'hi'],
    ],
    { hostname: 'dvhost1', sshPublicKey: 'ssh-ed25519 AAAA dockvisor-host-dvhost1', networkId: 0, username: 'debian', memoryMb: 96, cpu: 0.5, vcpu: 1 },
  );
  t.is(
    text,
    [
      'CONTEXT=[NETWORK="YES",SET_HOSTNAME="dvhost1",GREETING="hi",SSH_PUBLIC_KEY="ssh-ed25519 AAAA dockvisor-host-dvhost1",USERNAME="debian"]',
      'NIC=[NETWORK_ID="0"]',
      'MEMORY="96"',
      'CPU="0.5"',
      'VCPU="1"',
    ].join('\n'),
  );
  const script = 'echo "hi" > /tmp/a && cat <<\'EOF\'\nC:\\path\nEOF';
  t.is(
    instantiateTemplateText([['START_SCRIPT', script]], { hostname: 'h', sshPublicKey: 'k', memoryMb: 64 }),
    '<TEMPLATE><CONTEXT><START_SCRIPT>echo "hi" &gt; /tmp/a &amp;&amp; cat &lt;&lt;\'EOF\'\nC:\\path\nEOF</START_SCRIPT>' +
      '<NETWORK>YES</NETWORK><SET_HOSTNAME>h</SET_HOSTNAME><SSH_PUBLIC_KEY>k</SSH_PUBLIC_KEY></CONTEXT><MEMORY>64</MEMORY></TEMPLATE>',
  );
  t.throws(() => instantiateTemplateText([['A\\B', 'x']], { hostname: 'h', sshPublicKey: 'k' }), { message: /has an attribute named "A\\B"/ });
  t.throws(() => instantiateTemplateText([['X', 'a\u0001']], { hostname: 'h', sshPublicKey: 'k' }), { message: /holds a control character/ });
});

test.serial('a VM is read from oned’s recorded answers: PENDING, ACTIVE/BOOT, RUNNING with its NIC, DONE', async (t) => {
  const client = rpc();
  t.teardown(() => client.close());
  for (const [name, state, running] of [
    ['vm-info-pending', 'PENDING', false],
    ['vm-info-prolog-boot', 'ACTIVE/BOOT', false],
    ['vm-info-running', 'ACTIVE/RUNNING', true],
    ['vm-info-done', 'DONE', false],
  ] as const) {
    const scope = replay(name);
    const vm = await vmInfo(client, 518);
    t.true(scope.isDone());
    t.like(vm, { id: 518, name: 'dvhost1', state, running, done: state === 'DONE', address: { address: '198.18.7.10' } }, name);
    t.is(vm?.failure, undefined);
  }
});

test.serial('a boot failure carries oned’s own error text; a VM oned no longer has is undefined; terminating it is fine', async (t) => {
  const client = rpc();
  t.teardown(() => client.close());
  replay('vm-info-boot-failure');
  const failed = await vmInfo(client, 519);
  t.is(failed?.state, 'ACTIVE/BOOT_FAILURE');
  t.regex(failed!.failure!, /^Sun Nov 29 22:22:54 2026: DEPLOY: dockvisor deploy: image dockvisor\/missing-image:none: engine answered 500: /);
  replay('vm-info-missing');
  t.is(await vmInfo(client, 99999), undefined);
  const missing = replay('vm-action-missing');
  await terminateVm(client, 99999);
  t.true(missing.isDone());
  const terminated = replay('vm-action-terminate-hard');
  await terminateVm(client, 518);
  t.true(terminated.isDone());
});

test.serial('templates and networks are found by name or id in the recorded pools; a missing one is one line', async (t) => {
  const client = rpc();
  t.teardown(() => client.close());
  replay('templatepool-info-docker-host');
  t.like(await findTemplate(client, 'docker-host'), {
    id: 8,
    name: 'docker-host',
    context: [
      ['NETWORK', 'YES'],
      ['SET_HOSTNAME', '$NAME'],
    ],
  });
  replay('template-info');
  t.like(await findTemplate(client, '8'), { id: 8, name: 'docker-host' });
  replay('templatepool-info-docker-host');
  await t.throwsAsync(findTemplate(client, 'docker-host</NAME><NAME>x'), { message: 'OpenNebula has no VM template named "docker-host</NAME><NAME>x"' });
  replay('vnpool-info-accnet', 2);
  t.deepEqual(await findNetwork(client, 'accnet'), { id: 0, name: 'accnet' });
  t.deepEqual(await findNetwork(client, '0'), { id: 0, name: 'accnet' });
  // The recorded call sends an empty extra template, which the client writes as <string/>: answered whatever it sent.
  nock(ONED).post('/RPC2').reply(200, recordedResponse('template-instantiate-missing'), { 'Content-Type': 'text/xml' });
  await t.throwsAsync(instantiateTemplate(client, 99999, 'nohost', ''), { message: 'OpenNebula has no VM template 99999' });
});

test.serial('names with XML or shell syntax are matched as oned decodes them, and never sent anywhere', async (t) => {
  const client = rpc();
  t.teardown(() => client.close());
  // The recorded pool with the template renamed `<b>&"$(id)`: escaped once in oned's document, once more in XML-RPC.
  const hostile = recordedResponse('templatepool-info-docker-host').replace(
    '&lt;NAME&gt;docker-host&lt;/NAME&gt;',
    '&lt;NAME&gt;&amp;lt;b&amp;gt;&amp;amp;"$(id)&lt;/NAME&gt;',
  );
  nock(ONED).post('/RPC2').times(2).reply(200, hostile, { 'Content-Type': 'text/xml' });
  t.like(await findTemplate(client, '<b>&"$(id)'), { id: 8, name: '<b>&"$(id)' });
  await t.throwsAsync(findTemplate(client, '&lt;b&gt;&amp;"$(id)'), { message: 'OpenNebula has no VM template named "&lt;b&gt;&amp;"$(id)"' });
});

test.serial('a VM of the host’s name is looked for among the session user’s own VMs only (filter -3)', async (t) => {
  const client = rpc();
  t.teardown(() => client.close());
  const own = replay('vmpool-info-own');
  t.deepEqual(await vmsNamed(client, 'dvhost1'), []);
  t.true(own.isDone(), 'the call oned answers with the user’s own VMs');
});

test('only a VM whose own document holds the host’s key is the host’s; another of that name is named in one line and left', async (t) => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOurs dockvisor-host-dvhost1';
  const vm = (id: number, sshPublicKey?: string): CloudVm => ({
    id,
    name: 'dvhost1',
    state: 'PENDING',
    running: false,
    done: false,
    address: undefined,
    ...(sshPublicKey ? { sshPublicKey } : {}),
  });
  // The pool listing shows no context; one.vm.info shows each VM's own.
  const documents = new Map([
    [518, vm(518, key)],
    [519, vm(519, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOthers dockvisor-host-dvhost1')],
    [520, vm(520)],
  ]);
  const read: number[] = [];
  const cloud = {
    vmsNamed: async () => [vm(518), vm(519), vm(520)],
    vm: async (id: number) => {
      read.push(id);
      return documents.get(id);
    },
  } as unknown as CloudVms;
  const lines: string[] = [];
  t.deepEqual(await vmsHoldingHostKey(cloud, 'dvhost1', key, (line) => lines.push(line)), [518]);
  t.deepEqual(read, [518, 519, 520]);
  t.deepEqual(lines, ["VMs 519, 520 are named dvhost1 without this host's key in its context: neither adopted nor terminated"]);
  documents.delete(518);
  lines.length = 0;
  t.deepEqual(await vmsHoldingHostKey(cloud, 'dvhost1', key, (line) => lines.push(line)), [], 'a missing key is never taken for ours');
  t.is(lines.length, 1);
});
