/** What dockvisor needs in OpenNebula's configuration files, as data: the installer writes it, the check compares it. */

export type ConfigFileRole = 'oned.conf' | 'monitord.conf';

/** One vector attribute that belongs to dockvisor, told apart from other drivers' by its NAME. */
export interface WantedStanza {
  file: ConfigFileRole;
  attribute: string;
  /** Keys and values in the order they are written. Every one must be there, and nothing else. */
  pairs: [key: string, value: string][];
  /** How the installer writes it: a block of aligned lines, or one line (as oned.conf's own *_CONF stanzas). */
  layout: 'block' | 'line';
}

/** A driver list in the ARGUMENTS of one of oned's managers, where `dockvisor` must be named. */
export interface WantedListEntry {
  file: ConfigFileRole;
  attribute: string;
  /** The short flag and its long spelling (the drivers read both with GetoptLong). */
  flags: [short: string, long: string];
  /** What the driver loads when the flag is absent: every driver (`all`), or this list. */
  whenAbsent: 'all' | string[];
  describe: string;
}

export const DRIVER_NAME = 'dockvisor';

export const WANTED_STANZAS: WantedStanza[] = [
  {
    file: 'oned.conf',
    attribute: 'VM_MAD',
    layout: 'block',
    pairs: [
      ['NAME', 'dockvisor'],
      ['SUNSTONE_NAME', 'Dockvisor'],
      ['EXECUTABLE', 'one_vmm_exec'],
      ['ARGUMENTS', '-t 15 -r 0 dockvisor'],
      ['TYPE', 'xml'],
      // Snapshots survive poweroff (oned drops them otherwise), and resize of a running VM is allowed:
      // without LIVE_RESIZE oned refuses it ("Hotplug resize not supported by driver").
      ['KEEP_SNAPSHOTS', 'yes'],
      ['LIVE_RESIZE', 'yes'],
    ],
  },
  {
    file: 'oned.conf',
    attribute: 'TM_MAD_CONF',
    layout: 'line',
    pairs: [
      ['NAME', 'dockvisor'],
      ['LN_TARGET', 'SYSTEM'],
      ['CLONE_TARGET', 'SYSTEM'],
      ['SHARED', 'YES'],
      ['DS_MIGRATE', 'YES'],
    ],
  },
  {
    file: 'oned.conf',
    attribute: 'DS_MAD_CONF',
    layout: 'line',
    pairs: [
      ['NAME', 'dockvisor'],
      ['REQUIRED_ATTRS', 'REGISTRY'],
      ['PERSISTENT_ONLY', 'NO'],
    ],
  },
  {
    file: 'monitord.conf',
    attribute: 'IM_MAD',
    layout: 'block',
    pairs: [
      ['NAME', 'dockvisor'],
      ['SUNSTONE_NAME', 'Dockvisor'],
      ['EXECUTABLE', 'one_im_ssh'],
      ['ARGUMENTS', '-r 3 -t 15 -w 90 dockvisor'],
      ['THREADS', '0'],
    ],
  },
];

export const WANTED_LIST_ENTRIES: WantedListEntry[] = [
  { file: 'oned.conf', attribute: 'TM_MAD', flags: ['-d', '--tm-types'], whenAbsent: 'all', describe: 'TM_MAD -d' },
  { file: 'oned.conf', attribute: 'DATASTORE_MAD', flags: ['-d', '--ds-types'], whenAbsent: 'all', describe: 'DATASTORE_MAD -d' },
  // System datastores whose TM is listed here are monitored from the front-end (tm/dockvisor/monitor).
  { file: 'oned.conf', attribute: 'DATASTORE_MAD', flags: ['-s', '--system-ds-types'], whenAbsent: ['shared', 'ssh', 'ceph'], describe: 'DATASTORE_MAD -s' },
];

/** Values oned reads as booleans compare without case (`yes`, `YES`); the others exactly. */
const BOOLEAN_KEYS = new Set(['KEEP_SNAPSHOTS', 'LIVE_RESIZE', 'SHARED', 'DS_MIGRATE', 'PERSISTENT_ONLY']);

export function sameValue(key: string, have: string, want: string): boolean {
  return BOOLEAN_KEYS.has(key) ? have.toUpperCase() === want.toUpperCase() : have === want;
}

/** The stanza as the installer writes it, without a trailing newline. */
export function renderStanza(stanza: WantedStanza): string {
  if (stanza.layout === 'line') {
    return `${stanza.attribute} = [ ${stanza.pairs.map(([key, value]) => `${key} = ${quote(value)}`).join(', ')} ]`;
  }
  const width = Math.max(...stanza.pairs.map(([key]) => key.length));
  const lines = stanza.pairs.map(([key, value], index) => {
    const last = index === stanza.pairs.length - 1;
    return `    ${key.padEnd(width)} = ${key === 'THREADS' ? value : quote(value)}${last ? '' : ','}`;
  });
  return `${stanza.attribute} = [\n${lines.join('\n')}\n]`;
}

function quote(value: string): string {
  return `"${value.replaceAll('"', '\\"')}"`;
}
