import test from 'ava';
import type { HostAccess } from '../drivers/core/host-access.ts';
import { checkFitsHost, hostCapacity } from '../drivers/core/host-capacity.ts';

/** A host known only through its files, as one reached over SSH is. */
function hostWith(files: Record<string, string>, name = 'node1'): HostAccess {
  return {
    name,
    readFile: async (path: string) => files[path] ?? Promise.reject(new Error(`${path}: no such file`)),
  } as unknown as HostAccess;
}

const node1 = hostWith({ '/sys/devices/system/cpu/online': '0-3,6,8-9\n', '/proc/meminfo': 'MemTotal:        2097152 kB\nMemFree:          1000 kB\n' });

test('a host has its online CPUs and its total memory, read through its HostAccess', async (t) => {
  t.deepEqual(await hostCapacity(node1), { cpus: 7, memoryMb: 2048 });
});

test('a VM asking for more memory or CPUs than its host has is refused in one line naming both figures', async (t) => {
  await t.notThrowsAsync(checkFitsHost({ vmId: '7', cpu: 7, vcpu: 7, memoryMb: 2048 }, node1));
  await t.throwsAsync(checkFitsHost({ vmId: '7', memoryMb: 2049 }, node1), {
    name: 'InvalidInputError',
    message: 'VM 7: MEMORY 2049 MB is more than node1 has (2048 MB)',
  });
  await t.throwsAsync(checkFitsHost({ vmId: '7', cpu: 7.5 }, node1), { message: 'VM 7: CPU 7.5 is more than node1 has (7 CPUs)' });
  await t.throwsAsync(checkFitsHost({ vmId: '7', cpu: 1, vcpu: 8 }, node1), { message: 'VM 7: VCPU 8 is more than node1 has (7 CPUs)' });
});

test('a VM that asks for nothing is not checked: the host is not even read', async (t) => {
  await t.notThrowsAsync(checkFitsHost({ vmId: '7' }, hostWith({})));
});
