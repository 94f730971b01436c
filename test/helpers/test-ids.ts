import { basename } from 'node:path';

/**
 * What each test file may make on this machine without meeting another one: ava runs test files side by side,
 * all on the one machine's engine, bridges and routing table, so no two files may share a VM id (container
 * `one-<id>`, link `one-<id>-<nic>`), a Nova instance uuid prefix, a bridge name or a subnet.
 *
 * - `vmIds`: first and last OpenNebula VM id, inclusive; a datastore test numbers its images from the same range.
 * - `uuidPrefix`: the 8 hex digits every Nova instance uuid of the file starts with (`uuidMaker`).
 * - `bridgePrefix`: every bridge the file makes is named with it (and is at most 15 characters, the kernel's limit).
 * - `subnets`: the 198.18.x.0/24 networks (inside 198.18.0.0/15, RFC 2544's benchmarking block) of its bridges,
 *   test hosts and second engines, in the order the file uses them.
 *
 * Files that only read documents (vm-document, opennebula-document-limits, ...) make nothing and are not listed:
 * the ids and addresses in their documents never reach the machine. test/test-ids.test.ts checks the table.
 */
export interface TestAllocation {
  readonly vmIds?: readonly [first: number, last: number];
  readonly uuidPrefix?: string;
  readonly bridgePrefix?: string;
  readonly subnets?: readonly string[];
}

export const TEST_IDS: Readonly<Record<string, TestAllocation>> = {
  'opennebula-network.test.ts': { vmIds: [9101, 9199], bridgePrefix: 'dvt-lan', subnets: ['198.18.10.0/24', '198.18.11.0/24'] },
  'opennebula-robustness.test.ts': { vmIds: [9301, 9399], bridgePrefix: 'dvt-rob', subnets: ['198.18.20.0/24'] },
  'opennebula-hostile-input.test.ts': { vmIds: [9401, 9499], bridgePrefix: 'dvt-bad', subnets: ['198.18.30.0/24'] },
  'opennebula-remotes-copy.test.ts': { vmIds: [9501, 9599], bridgePrefix: 'dvt-cp', subnets: ['198.18.40.0/24'] },
  'opennebula-probes.test.ts': { vmIds: [9601, 9699], bridgePrefix: 'dvt-mon', subnets: ['198.18.50.0/24'] },
  'opennebula-probes-engine-restart.test.ts': { vmIds: [9701, 9799], subnets: ['198.18.61.0/24'] },
  'opennebula-host-mounts.test.ts': { vmIds: [8101, 8199] },
  'opennebula-install-keeper.test.ts': { vmIds: [8290, 8299] },
  'opennebula-action-agent.test.ts': { vmIds: [8820, 8839], bridgePrefix: 'dvt-agt', subnets: ['198.18.208.0/24'] },
  'opennebula-installed-as-oneadmin.test.ts': { vmIds: [8260, 8269], bridgePrefix: 'dvt-asone', subnets: ['198.18.156.0/24'] },
  'opennebula-hostile-limits.test.ts': { vmIds: [8250, 8259], bridgePrefix: 'dvt-wb', subnets: ['198.18.155.0/24'] },
  'opennebula-probes-identity.test.ts': { vmIds: [8410, 8419] },
  'opennebula-exec.test.ts': { vmIds: [8600, 8609] },
  'opennebula-vm-exits.test.ts': { vmIds: [8620, 8629] },
  'opennebula-disk-hotplug.test.ts': {
    vmIds: [8630, 8649],
    bridgePrefix: 'dvt-hp',
    subnets: ['198.18.190.0/24', '198.18.191.0/24', '198.18.192.0/24'],
  },
  'opennebula-runtimes.test.ts': { vmIds: [8610, 8619], bridgePrefix: 'dvt-gvr', subnets: ['198.18.180.0/24', '198.18.181.0/24'] },
  'datastore-concurrent-deploys.test.ts': { vmIds: [8720, 8799], bridgePrefix: 'dvt-fast', subnets: ['198.18.220.0/24', '198.18.221.0/24'] },
  'opennebula-addresses.test.ts': { vmIds: [8520, 8539], bridgePrefix: 'dvt-addr', subnets: ['198.18.172.0/24'] },
  'opennebula-bandwidth.test.ts': { vmIds: [8540, 8549], bridgePrefix: 'dvt-bw', subnets: ['198.18.174.0/24'] },
  // The recording's own values (test/fixtures/opennebula-7.4/recorded): VMs 1 and 2 on bridge br-dv, whose
  // 10.77.0.0/24 addresses live only inside their containers.
  'opennebula-recorded-lifecycle.test.ts': { vmIds: [1, 2], bridgePrefix: 'br-dv' },
  'datastore-images.test.ts': { vmIds: [9801, 9839] },
  'datastore-vms.test.ts': { vmIds: [9840, 9879], bridgePrefix: 'dvt-ds', subnets: ['198.18.120.0/24', '198.18.121.0/24', '198.18.122.0/24'] },
  'datastore-monitor-capacity.test.ts': { vmIds: [8400, 8409] },
  'datastore-undeploy.test.ts': { vmIds: [8300, 8319], bridgePrefix: 'dvt-wd0', subnets: ['198.18.160.0/24', '198.18.161.0/24', '198.18.162.0/24'] },
  'opennebula-resize-poweroff.test.ts': { vmIds: [8320, 8329] },
  'datastore-failed-deploy.test.ts': { vmIds: [8330, 8339], bridgePrefix: 'dvt-wd1', subnets: ['198.18.163.0/24', '198.18.164.0/24'] },
  'hostile-datastore-and-hosts.test.ts': { vmIds: [8201, 8249], subnets: ['198.18.150.0/24'] },
  'test-hosts.test.ts': { bridgePrefix: 'dvt-rig', subnets: ['198.18.70.0/24', '198.18.71.0/24', '198.18.72.0/24'] },
  'host-provisioning.test.ts': { vmIds: [98001, 98099], bridgePrefix: 'dvt-prov', subnets: ['198.18.73.0/24', '198.18.74.0/24', '198.18.75.0/24'] },
  'host-runtime.test.ts': { bridgePrefix: 'dvt-rt', subnets: ['198.18.76.0/24'] },
  'nova-api.test.ts': { uuidPrefix: 'dcf60a01' },
  'nova-hostile-input.test.ts': { uuidPrefix: 'dcf60a02', bridgePrefix: 'dvt-nova-bad', subnets: ['198.18.110.0/24'] },
  'nova-lifecycle.test.ts': { uuidPrefix: 'dcf60a03', bridgePrefix: 'dvt-nova-lc', subnets: ['198.18.111.0/24', '198.18.112.0/24'] },
  'nova-side-by-side.test.ts': { vmIds: [96110, 96119], uuidPrefix: 'dcf60a04', bridgePrefix: 'dvt-nova-sbs', subnets: ['198.18.113.0/24'] },
  'nova-glance-snapshots.test.ts': { uuidPrefix: 'dcf60a0d', bridgePrefix: 'dvt-ngl', subnets: ['198.18.205.0/24', '198.18.206.0/24'] },
  'nova-shim.test.ts': { uuidPrefix: 'dcf60a05', bridgePrefix: 'dvt-nova-shim', subnets: ['198.18.114.0/24'] },
  'nova-exceptions.test.ts': { uuidPrefix: 'dcf60a0c', bridgePrefix: 'dvt-nexc', subnets: ['198.18.197.0/24'] },
  'opennebula-security-groups.test.ts': { vmIds: [8550, 8569], bridgePrefix: 'dvt-sg', subnets: ['198.18.175.0/24'] },
  'nova-host-limits.test.ts': { uuidPrefix: 'dcb82500' },
  'nova-addresses.test.ts': { uuidPrefix: 'dcf60a07', bridgePrefix: 'dvt-naddr', subnets: ['198.18.173.0/24'] },
  'opennebula-ovs.test.ts': { vmIds: [8500, 8519], bridgePrefix: 'dvt-ovs', subnets: ['198.18.170.0/24'] },
  'nova-ovs.test.ts': { vmIds: [8690, 8699], uuidPrefix: 'dcf60a06', bridgePrefix: 'dvt-novs', subnets: ['198.18.171.0/24'] },
  'nova-diagnostics.test.ts': { uuidPrefix: 'dcf60a0b', bridgePrefix: 'dvt-ndiag', subnets: ['198.18.196.0/24'] },
  'nova-rebuild.test.ts': { uuidPrefix: 'dcf60a0f', bridgePrefix: 'dvt-nreb', subnets: ['198.18.204.0/24'] },
  // 198.18.130 is the hosts' rig; 133 and 134 are the VM bridges made inside host A's and host B's namespaces.
  'nova-remote-hosts.test.ts': {
    uuidPrefix: '5e7a0b1c',
    bridgePrefix: 'dvt-nrig',
    subnets: ['198.18.130.0/24', '198.18.131.0/24', '198.18.132.0/24', '198.18.133.0/24', '198.18.134.0/24'],
  },
  // 202 is the LAN between this machine and host B; 203 holds the instance's network (.0/25, a bridge on this
  // machine and one inside host B's namespace) and host B's engine bridge (.128/25).
  'nova-migration.test.ts': { uuidPrefix: 'dcf60a0e', bridgePrefix: 'dvt-nmig', subnets: ['198.18.202.0/24', '198.18.203.0/24'] },
  // 193 is the datastore rig's LAN, 194 and 195 its two hosts' engine bridges.
  'image-volumes.test.ts': {
    vmIds: [8650, 8669],
    uuidPrefix: 'dcf60a0a',
    bridgePrefix: 'dvt-ivol',
    subnets: ['198.18.193.0/24', '198.18.194.0/24', '198.18.195.0/24'],
  },
  // 210 is the network of the test host that stands in for the VM (its recorded address rewritten), 211 its engine's.
  'host-agent.test.ts': { vmIds: [8800, 8819], bridgePrefix: 'dvt-hag', subnets: ['198.18.207.0/24'] },
  'host-from-template.test.ts': { vmIds: [8700, 8719], bridgePrefix: 'dvt-otpl', subnets: ['198.18.210.0/24', '198.18.211.0/24'] },
  // 176 is the LAN between the two hosts, 177 and 178 their engines' bridges, 179 the VXLAN network inside both.
  'overlay-vxlan.test.ts': {
    vmIds: [8570, 8589],
    uuidPrefix: 'dcf60a08',
    bridgePrefix: 'dvt-vx',
    subnets: ['198.18.176.0/24', '198.18.177.0/24', '198.18.178.0/24', '198.18.179.0/24'],
  },
};

/** Taken by `npm run demo` (drivers/cli/demo), which may run beside the tests. */
export const DEMO: TestAllocation = { bridgePrefix: 'dvdemo', subnets: ['198.18.100.0/24'] };

/** The kernel's limit on an interface name (IFNAMSIZ less the terminating NUL). */
export const MAX_LINK_NAME = 15;

export interface TestIds {
  /** The `index`th VM id of the file's range (0 is its first). */
  vm(index: number): number;
  /** The file's Nova instance uuid prefix (8 hex digits). */
  readonly uuidPrefix: string;
  /** The file's bridge named `<bridgePrefix><suffix>`. */
  bridge(suffix?: string): string;
  /** Address `host` (1 to 254) of the file's `index`th subnet, e.g. `address(0, 1)` is 198.18.10.1. */
  address(index: number, host: number): string;
  /** The `index`th subnet as its first three octets, e.g. `network(0)` is 198.18.10 (as DatastoreRig takes it). */
  network(index: number): string;
  /** The same address with its prefix length, e.g. `cidr(0, 1)` is 198.18.10.1/24: a bridge's or an engine's own. */
  cidr(index: number, host: number): string;
}

/** What the test file `file` (its path, usually `import.meta.filename`, or its name) may use. */
export function testIds(file: string): TestIds {
  const name = basename(file);
  const entry = TEST_IDS[name];
  if (!entry) throw new Error(`${name} has no entry in test/helpers/test-ids.ts`);
  const missing = (what: string) => new Error(`${name} has no ${what} in test/helpers/test-ids.ts`);
  return {
    vm(index) {
      if (!entry.vmIds) throw missing('VM ids');
      const [first, last] = entry.vmIds;
      const id = first + index;
      if (!Number.isInteger(index) || index < 0 || id > last) throw new Error(`${name}: VM id number ${index} is outside ${first}..${last}`);
      return id;
    },
    get uuidPrefix() {
      if (!entry.uuidPrefix) throw missing('uuid prefix');
      return entry.uuidPrefix;
    },
    bridge(suffix = '') {
      if (!entry.bridgePrefix) throw missing('bridge prefix');
      const bridge = `${entry.bridgePrefix}${suffix}`;
      if (bridge.length > MAX_LINK_NAME) throw new Error(`${name}: bridge ${bridge} is longer than ${MAX_LINK_NAME} characters`);
      return bridge;
    },
    network(index) {
      const subnet = entry.subnets?.[index];
      if (!subnet) throw missing(`subnet number ${index}`);
      return subnet.replace(/\.0\/24$/, '');
    },
    address(index, host) {
      const network = this.network(index);
      if (!Number.isInteger(host) || host < 1 || host > 254) throw new Error(`${name}: ${host} is not a host of ${network}.0/24`);
      return `${network}.${host}`;
    },
    cidr(index, host) {
      return `${this.address(index, host)}/24`;
    },
  };
}
