import { InvalidInputError } from '../../core/errors.ts';
import { nonNegativeInteger } from '../../core/validate.ts';
import { child, parseDocument, text } from '../xml.ts';

/** What a probe needs from the <MONITOR_CONFIGURATION> monitord hands every probe on stdin. */
export interface MonitorConfig {
  hostId: number;
  syncStateSeconds: number;
  datastoreLocation?: string;
}

export function parseMonitorConfig(xml: string): MonitorConfig {
  const config = parseDocument(xml, 'MONITOR_CONFIGURATION');
  const hostIdText = text(config, 'HOST_ID');
  if (hostIdText === undefined) throw new InvalidInputError('MONITOR_CONFIGURATION has no HOST_ID');
  const sync = text(child(config, 'PROBES_PERIOD'), 'SYNC_STATE_VM');
  const location = text(config, 'DATASTORE_LOCATION');
  if (location !== undefined && !location.startsWith('/')) throw new InvalidInputError('DATASTORE_LOCATION must be an absolute path');
  return {
    hostId: nonNegativeInteger(hostIdText, 'HOST_ID', 2 ** 31),
    syncStateSeconds: sync === undefined ? 180 : nonNegativeInteger(sync, 'PROBES_PERIOD/SYNC_STATE_VM', 86_400),
    datastoreLocation: location,
  };
}

/** OpenNebula 5.x gives probes no configuration: its argv ends with `<host id> <host name>`. */
export function legacyMonitorConfig(argv: string[]): MonitorConfig {
  const hostId = argv[argv.length - 2];
  return { hostId: hostId && /^[0-9]{1,9}$/.test(hostId) ? Number(hostId) : 0, syncStateSeconds: 180 };
}
