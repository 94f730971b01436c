import type { HostStatus } from '../machine/host-status.ts';

/** `dockvisor host ls` as a table, widths from the content. */
export function formatHostTable(statuses: HostStatus[]): string {
  const header = ['NAME', 'SSH', 'STATE', 'ENGINE', 'CONTAINERS', 'VMS', 'OPENNEBULA', 'VM', 'ERROR'];
  const rows = statuses.map((status) => [
    status.name,
    status.ssh,
    status.state,
    status.engineVersion ?? '-',
    status.containers?.toString() ?? '-',
    status.vms?.toString() ?? '-',
    status.opennebula ? `${status.opennebula.id} ${status.opennebula.state}` : status.opennebula === null ? 'not registered' : '-',
    status.vm ? `${status.vm.id ?? '-'} ${status.vm.state}` : '-',
    (status.error ?? '').slice(0, 80),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return (
    [header, ...rows]
      .map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
