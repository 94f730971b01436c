import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CgroupLayout, hostCgroupVersion } from '../drivers/monitoring/cgroup-layout.ts';
import { readCgroupUsage } from '../drivers/monitoring/cgroup-usage.ts';
import { sampleGuestUsage } from '../drivers/monitoring/guest-usage.ts';

// Fixture trees in the shapes the kernel and the two cgroup drivers give them (this machine runs v1 with cgroupfs).
const ID = 'c0ffee'.padEnd(64, '0');

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'dockvisor-cgroup-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const v1 = (dir: (controller: string) => string) => ({
  [`${dir('cpuacct')}/cpuacct.usage`]: '2500000000\n',
  [`${dir('cpuacct')}/cgroup.procs`]: '4242\n4300\n',
  [`${dir('memory')}/memory.usage_in_bytes`]: String(100 * 1024 * 1024),
  [`${dir('memory')}/memory.stat`]: `cache 1000\ntotal_inactive_file ${20 * 1024 * 1024}\n`,
  [`${dir('blkio')}/blkio.throttle.io_service_bytes_recursive`]: '8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\n8:16 Read 100\n8:16 Write 0\nTotal 12388\n',
  [`${dir('blkio')}/blkio.throttle.io_serviced_recursive`]: '8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n',
});

const v2 = (dir: string) => ({
  'cgroup.controllers': 'cpu io memory pids\n',
  [`${dir}/cpu.stat`]: 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n',
  [`${dir}/memory.current`]: String(100 * 1024 * 1024),
  [`${dir}/memory.stat`]: `anon 1000\ninactive_file ${20 * 1024 * 1024}\n`,
  [`${dir}/io.stat`]: '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n',
  [`${dir}/cgroup.procs`]: '4242\n',
});

const expected = {
  cpuNanoseconds: 2_500_000_000,
  memoryBytes: 80 * 1024 * 1024,
  diskReadBytes: 4196,
  diskWriteBytes: 8192,
  diskReadOps: 1,
  diskWriteOps: 2,
  pid: 4242,
};

const layouts: [string, Record<string, string>, 1 | 2][] = [
  ['cgroup v1, cgroupfs driver', v1((c) => `${c}/docker/${ID}`), 1],
  ['cgroup v1, systemd driver', v1((c) => `${c}/system.slice/docker-${ID}.scope`), 1],
  ['cgroup v1, cpu and cpuacct joined', v1((c) => `${c === 'cpuacct' ? 'cpu,cpuacct' : c}/docker/${ID}`), 1],
  ['cgroup v2, cgroupfs driver', v2(`docker/${ID}`), 2],
  ['cgroup v2, systemd driver', v2(`system.slice/docker-${ID}.scope`), 2],
];

for (const [name, files, version] of layouts) {
  test(`${name}: usage is read from the container's cgroup files`, (t) => {
    const root = tree(files);
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const layout = new CgroupLayout(root);
    t.is(layout.version, version);
    const { pid, ...usage } = readCgroupUsage(layout, ID)!;
    const { pid: expectedPid, ...expectedUsage } = expected;
    t.deepEqual(usage, expectedUsage, 'memory leaves out the inactive page cache, disk sums the devices');
    t.is(pid, expectedPid);
    t.is(readCgroupUsage(layout, 'f'.repeat(64)), undefined, 'a container without cgroup (stopped) has no usage');
  });
}

test('the mounted cgroup version is read from the mount table', (t) => {
  const root = tree({
    v1: 'cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ntmpfs /run tmpfs rw 0 0\n',
    v2: 'cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n',
    hybrid: 'cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n',
  });
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.is(hostCgroupVersion(join(root, 'v1')), 1);
  t.is(hostCgroupVersion(join(root, 'v2')), 2);
  t.is(hostCgroupVersion(join(root, 'hybrid')), 1);
});

test('one unreadable container never hides the others, and CPU is a rate between two samples', async (t) => {
  const root = tree(v2(`docker/${ID}`));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const state = join(root, 'state.json');
  const guests = [
    { vmId: '1', name: 'one-1', containerId: ID },
    { vmId: '2', name: 'one-2', containerId: 'b'.repeat(64) },
  ];
  const first = await sampleGuestUsage(guests, new CgroupLayout(root), state, 50);
  t.deepEqual(first.unreadable, ['one-2']);
  t.deepEqual(
    first.usage.map((u) => u.name),
    ['one-1'],
  );
  t.is(first.usage[0]!.memoryKb, 80 * 1024);
  t.is(first.usage[0]!.cpuPercent, 0, 'nothing was used between the two first readings');

  // One second of CPU used since the previous sample, over about a second: about 100 % of one CPU.
  writeFileSync(join(root, `docker/${ID}/cpu.stat`), 'usage_usec 3500000\n');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const second = await sampleGuestUsage(guests, new CgroupLayout(root), state, 50);
  const cpu = second.usage[0]!.cpuPercent;
  t.true(cpu > 80 && cpu <= 101, `CPU ${cpu.toFixed(1)} %`);
});
