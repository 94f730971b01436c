import { InvalidInputError } from './errors.ts';
import type { HostAccess } from './host-access.ts';
import type { LinkOwner } from './link-ownership.ts';
import * as check from './validate.ts';
import type { OvsPortSpec } from './vm-spec.ts';

/**
 * A host's Open vSwitch as the NIC plumbing needs it, through `ovs-vsctl` argv (never a shell). Port names
 * come from the front-ends' users, like link names, so a port proves nothing by its name: dockvisor marks
 * each port and interface it adds with `external_ids:dockvisor-owner=<the VM's link owner>` in the same
 * transaction that adds it, and removes or replaces only ports that carry the VM's mark.
 */
export class OvsSwitch {
  constructor(private readonly host: HostAccess) {}

  /** The named bridges that exist (with their datapath type) and the named ports that exist (with their owner, '' when unmarked). */
  async describe(bridges: string[], ports: string[]): Promise<SwitchState> {
    const state: SwitchState = { bridges: new Map(), ports: new Map() };
    if (bridges.length === 0 && ports.length === 0) return state;
    // `list` without record names would list the whole table: an empty list asks for a name no record has.
    const names = (wanted: string[]) => (wanted.length ? wanted.map(recordName) : ['.']);
    const argv = ['ovs-vsctl', VSCTL_TIMEOUT, '--format=json'];
    argv.push('--', '--if-exists', '--columns=name,datapath_type', 'list', 'Bridge', ...names(bridges));
    argv.push('--', '--if-exists', '--columns=name,external_ids', 'list', 'Port', ...names(ports));
    const [bridgeTable, portTable] = (await this.vsctl(argv))
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as OvsdbTable);
    const wantedBridges = new Set(bridges);
    const wantedPorts = new Set(ports);
    for (const [name, datapath] of bridgeTable?.data ?? []) {
      if (typeof name === 'string' && wantedBridges.has(name)) state.bridges.set(name, typeof datapath === 'string' ? datapath : '');
    }
    for (const [name, ids] of portTable?.data ?? []) {
      if (typeof name === 'string' && wantedPorts.has(name)) state.ports.set(name, ovsdbMap(ids).get(OWNER_KEY) ?? '');
    }
    return state;
  }

  /** Adds the ports in one transaction, each marked as `owner`'s. */
  async addPorts(owner: LinkOwner, ports: SwitchPort[]): Promise<void> {
    if (ports.length === 0) return;
    await this.vsctl(addPortsArgv(owner, ports));
  }

  /** Deletes ports the caller has proven the VM's; one already gone is fine. */
  async deletePorts(names: string[]): Promise<void> {
    if (names.length === 0) return;
    await this.vsctl(['ovs-vsctl', VSCTL_TIMEOUT, ...names.flatMap((name) => ['--', '--if-exists', 'del-port', recordName(name)])]);
  }

  /** Whether an OVSDB server runs on the host: without one there is no port to remove. */
  async running(): Promise<boolean> {
    for (const socket of OVSDB_SOCKETS) if (await this.host.exists(socket)) return true;
    return false;
  }

  private vsctl(argv: string[]): Promise<string> {
    return this.host.run(argv, { root: true });
  }
}

/** A port to add: its name, its bridge, what the front-end asks of it, and the MTU of its interface. */
export interface SwitchPort {
  name: string;
  bridge: string;
  spec: OvsPortSpec;
  mtu?: number;
}

export interface SwitchState {
  /** Bridge name to datapath type (`netdev` for the userspace datapath, '' or `system` for the kernel's). */
  bridges: Map<string, string>;
  /** Port name to the owner its external_ids name, '' when it carries no dockvisor mark. */
  ports: Map<string, string>;
}

export const OWNER_KEY = 'dockvisor-owner';

/** ovs-vsctl waits for its database forever by default; a switch that does not answer fails the action instead. */
const VSCTL_TIMEOUT = '--timeout=20';

const OVSDB_SOCKETS = ['/var/run/openvswitch/db.sock', '/run/openvswitch/db.sock'];

/**
 * The ovs-vsctl argv that adds the ports: for each, a plain `add-port` (no --may-exist: a port of that
 * name anywhere fails the whole transaction, so a port that is not the VM's is never marked as its),
 * then its VLAN settings and marks on the Port and its Interface.
 */
export function addPortsArgv(owner: LinkOwner, ports: SwitchPort[]): string[] {
  const argv = ['ovs-vsctl', VSCTL_TIMEOUT];
  for (const port of ports) {
    const name = recordName(port.name);
    const mark = `external_ids:${OWNER_KEY}=${ovsdbString(owner)}`;
    argv.push('--', 'add-port', recordName(port.bridge), name);
    argv.push('--', 'set', 'Port', name, mark, ...portColumns(port.spec));
    const interfaceIds = Object.entries(port.spec.interfaceIds ?? {}).map(([key, value]) => `external_ids:${externalIdKey(key)}=${ovsdbString(value)}`);
    const mtu = port.mtu ? [`mtu_request=${port.mtu}`] : [];
    argv.push('--', 'set', 'Interface', name, mark, ...interfaceIds, ...mtu);
  }
  return argv;
}

/** The Port columns OpenNebula's Open vSwitch driver sets for a NIC: tag, trunks, vlan_mode and, for QinQ, cvlans. */
export function portColumns(spec: OvsPortSpec): string[] {
  const columns: string[] = [];
  if (spec.tag !== undefined) columns.push(`tag=${vlanId(spec.tag)}`);
  if (spec.trunks?.length) columns.push(`trunks=${ovsdbSet(spec.trunks.map(vlanId))}`);
  if (spec.vlanMode) columns.push(`vlan_mode=${spec.vlanMode}`);
  if (spec.cvlans?.length) columns.push(`cvlans=${ovsdbSet(spec.cvlans.map(vlanId))}`);
  if (spec.qinqEthertype) columns.push(`other_config:qinq-ethtype=${spec.qinqEthertype}`);
  return columns;
}

/**
 * A bridge or port name as an OVSDB record name. Names are interface names (letters, digits, `_ . -`): nothing
 * ovs-vsctl could read as an option, a `--` separator, a column or a set.
 */
export function recordName(name: string): string {
  return check.interfaceName(name, 'Open vSwitch bridge or port name');
}

/**
 * An external_ids value, always quoted as an OVSDB string. Values are refused unless plain (letters, digits,
 * `: . _ -`), so that what ovs-vsctl parses is what was asked for, whatever quoting rules it has.
 */
export function ovsdbString(value: string): string {
  if (!/^[A-Za-z0-9:._-]{1,128}$/.test(value)) {
    throw new InvalidInputError(`Open vSwitch external_ids value "${check.printable(value)}" is not plain text (letters, digits, : . _ -)`);
  }
  return `"${value}"`;
}

function externalIdKey(key: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(key)) throw new InvalidInputError(`Open vSwitch external_ids key "${check.printable(key)}" is not plain`);
  return key;
}

function vlanId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > 4095) throw new InvalidInputError(`VLAN id ${id} is not from 0 to 4095`);
  return id;
}

function ovsdbSet(values: number[]): string {
  return `[${[...new Set(values)].join(',')}]`;
}

type OvsdbDatum = string | number | boolean | [string, unknown];
interface OvsdbTable {
  data: OvsdbDatum[][];
}

/** An OVSDB map datum as JSON (`["map", [[k, v], ...]]`). */
function ovsdbMap(datum: OvsdbDatum | undefined): Map<string, string> {
  if (!Array.isArray(datum) || datum[0] !== 'map' || !Array.isArray(datum[1])) return new Map();
  return new Map((datum[1] as unknown[][]).filter((pair) => typeof pair[0] === 'string' && typeof pair[1] === 'string') as [string, string][]);
}
