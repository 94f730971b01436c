import { InvalidInputError } from '../core/errors.ts';
import { rootDiskImage } from '../core/disk-names.ts';
import * as check from '../core/validate.ts';
import { noPrivileges, type NicSpec, type RequestedPrivileges, type VmSpec } from '../core/vm-spec.ts';
import { RUNTIME_NAME } from '../core/host-settings.ts';
import { firstOf, maskToPrefix, readAddresses, withAliases } from './nic-addresses.ts';
import { readBandwidth } from './nic-qos.ts';
import { parseRoutes } from './nic-routes.ts';
import { diskId, diskVolumes, isDatastoreRootDisk, readDisks, rootDiskLabel, type OneDisk } from './vm-disks.ts';
import { oneContainerName } from './one-labels.ts';
import { hotplugsDisks } from './disk-attach.ts';
import { ovsPort } from './ovs-nic.ts';
import { splitWords } from './words-without-shell.ts';
import { child, children, parseDocument, text, type XmlNode } from './xml.ts';

/** What a VMM action needs from OpenNebula's `<VM>` document, already checked. */
export interface OneVm {
  id: number;
  lcmState: number;
  deployId?: string;
  spec: VmSpec;
  /** Every NIC of the template, including one being attached or detached. */
  nicNodes: XmlNode[];
  /** The MACs of the template's NIC_ALIAS elements, in lower case. */
  aliasMacs: Set<string>;
  context: XmlNode | undefined;
  /**
   * The root disk came from a dockvisor datastore: the transfer actions save it back (mvds) and remove the
   * container (delete) after a terminate, so stopping never removes it.
   */
  transferOwnsContainer: boolean;
}

export function parseVmDocument(xml: string): OneVm {
  return readVm(parseDocument(xml, 'VM'));
}

/** The section a VM template uses to ask for container options; only these keys are read. */
const DOCKVISOR_OPTIONS = ['IMAGE', 'CMD', 'ENTRYPOINT', 'ENV', 'WORKDIR', 'USER', 'PRIVILEGED', 'HOST_NETWORK', 'CAP_ADD', 'DEVICES', 'MOUNTS', 'RUNTIME'];

export function readVm(vm: XmlNode): OneVm {
  const id = check.nonNegativeInteger(required(vm, 'ID', 'VM/'), 'VM ID', 2 ** 31);
  const where = `VM ${id}: `;
  const lcmState = check.nonNegativeInteger(required(vm, 'LCM_STATE', `VM ${id} `), `${where}LCM_STATE`, 100);
  const name = vmName(required(vm, 'NAME', `VM ${id} `), where);
  const template = child(vm, 'TEMPLATE', where);
  if (!template) throw new InvalidInputError(`${where}the VM document has no TEMPLATE`);
  const userTemplate = child(vm, 'USER_TEMPLATE', where);
  const context = child(template, 'CONTEXT', where);
  const options = child(userTemplate, 'DOCKVISOR', where) ?? child(template, 'DOCKVISOR', where);
  const nicNodes = children(template, 'NIC', where);
  const containerName = oneContainerName(id);
  const systemTm = systemTransferDriver(vm, where);
  const { disks, root } = readDisks(template, where);

  const spec: VmSpec = {
    frontEnd: 'opennebula',
    vmId: String(id),
    containerName,
    displayName: name,
    hostname: vmHostname(context, name, containerName, where),
    image: vmImage(root, options, containerName, where),
    ...commandOptions(options, where),
    environment: environment(context, options, where),
    cpu: optionalNumber(template, 'CPU', where, 4096),
    vcpu: optionalNumber(template, 'VCPU', where, 4096),
    memoryMb: optionalInteger(template, 'MEMORY', where, 16 * 1024 * 1024),
    nics: withAliases(
      template,
      context,
      id,
      nicNodes,
      nicNodes.map((nic) => readNic(nic, id, context)),
    ),
    privileges: privileges(options, where),
    volumes: diskVolumes(disks, root, context !== undefined, containerName, systemTm, where),
    frontEndLabels: rootDiskLabel(root, where),
  };
  if (hotplugsDisks(systemTm, spec.privileges)) spec.diskHotplug = true;
  const deployId = text(vm, 'DEPLOY_ID');
  const aliasMacs = new Set(children(template, 'NIC_ALIAS', where).flatMap((alias) => text(alias, 'MAC', where)?.toLowerCase() ?? []));
  return { id, lcmState, deployId, spec, nicNodes, aliasMacs, context, transferOwnsContainer: isDatastoreRootDisk(root) };
}

/** The network drivers whose `post` puts the NIC behind OpenNebula's security-group chains (lib/sg_driver.rb). */
const SECURITY_GROUP_DRIVERS = new Set(['fw', '802.1Q', 'vxlan']);

export function readNic(nic: XmlNode, vmId: number, context: XmlNode | undefined): NicSpec {
  const nicId = check.nonNegativeInteger(required(nic, 'NIC_ID', `VM ${vmId} NIC/`), `VM ${vmId}: NIC_ID`, 9999);
  const where = `VM ${vmId} NIC ${nicId}: `;
  const ctx = (key: string) => text(context, `ETH${nicId}_${key}`, where);
  const bridgeType = text(nic, 'BRIDGE_TYPE', where) ?? 'linux';
  if (bridgeType !== 'linux' && bridgeType !== 'openvswitch') {
    throw new InvalidInputError(`${where}BRIDGE_TYPE ${check.printable(bridgeType)} is not supported (linux or openvswitch)`);
  }
  const field = (key: string) => text(nic, key, where);
  const mtuText = firstOf(ctx('MTU'), field('GUEST_MTU'), field('MTU'));
  const gateway = firstOf(ctx('GATEWAY'), field('GATEWAY'));
  const gateway6 = firstOf(ctx('IP6_GATEWAY'), field('GATEWAY6'), field('IP6_GATEWAY'));
  const routes = firstOf(ctx('ROUTES'), field('ROUTES'));
  const dns = firstOf(ctx('DNS'), field('DNS'));
  const searchDomains = firstOf(ctx('SEARCH_DOMAIN'), field('SEARCH_DOMAIN'));
  return {
    nicId,
    hostInterface: check.interfaceName(field('TARGET') ?? `one-${vmId}-${nicId}`, `${where}TARGET`),
    bridge: check.interfaceName(required(nic, 'BRIDGE', where), `${where}BRIDGE`),
    bridgeType,
    mac: check.macAddress(required(nic, 'MAC', where), `${where}MAC`),
    ...readAddresses(nic, ctx, where),
    gateway: gateway ? check.ipv4(gateway, `${where}GATEWAY`) : undefined,
    gateway6: gateway6 ? check.ipv6(gateway6, `${where}IP6_GATEWAY`) : undefined,
    routes: parseRoutes(routes, where),
    mtu: mtuText ? check.nonNegativeInteger(mtuText, `${where}MTU`, 65535) || undefined : undefined,
    ...(SECURITY_GROUP_DRIVERS.has(field('VN_MAD') ?? '') ? { filteredByFrontEnd: true } : {}),
    dns: words(dns).map((server) => check.ipAddress(server, `${where}DNS`)),
    searchDomains: words(searchDomains).map((d) => check.hostname(d, `${where}SEARCH_DOMAIN`)),
    bandwidth: readBandwidth(nic, where),
    ...(bridgeType === 'openvswitch' ? { ovs: ovsPort(field, where) } : {}),
  };
}

function required(node: XmlNode, name: string, where: string): string {
  const value = text(node, name, where);
  if (value === undefined) throw new InvalidInputError(`${where}${name} is missing`);
  return value;
}

function vmName(name: string, where: string): string {
  if (name.length > 128 || /[\x00-\x1f\x7f`$;|&<>\\"']/.test(name)) {
    throw new InvalidInputError(
      `${where}NAME "${check.printable(name)}" has characters dockvisor refuses (control characters, quotes or shell metacharacters)`,
    );
  }
  return name;
}

function vmHostname(context: XmlNode | undefined, name: string, fallback: string, where: string): string {
  const wanted = text(context, 'SET_HOSTNAME', where);
  if (wanted) return check.hostname(wanted, `${where}CONTEXT/SET_HOSTNAME`);
  const fromName = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return fromName ? fromName : fallback;
}

/**
 * A root disk from a dockvisor datastore wins: the transfer action put it on the host as a local image.
 * Else DOCKVISOR/IMAGE, else a docker:// root disk SOURCE pulled as it is.
 */
function vmImage(root: OneDisk | undefined, options: XmlNode | undefined, containerName: string, where: string): string {
  const requested = text(options, 'IMAGE', `${where}DOCKVISOR/`);
  if (root && isDatastoreRootDisk(root)) return rootDiskImage(containerName, diskId(root, where));
  if (requested) return check.imageReference(requested, `${where}DOCKVISOR/IMAGE`);
  const source = root?.source;
  if (!source) throw new InvalidInputError(`${where}no image: give DOCKVISOR=[IMAGE="..."] or a root DISK from a dockvisor datastore`);
  if (!source.startsWith('docker://')) {
    throw new InvalidInputError(`${where}root DISK SOURCE "${check.printable(source)}" is not a docker:// image; give DOCKVISOR=[IMAGE="..."]`);
  }
  return check.imageReference(source.slice('docker://'.length), `${where}root DISK SOURCE`);
}

/** The system datastore's transfer driver, from the VM's current history record. */
function systemTransferDriver(vm: XmlNode, where: string): string | undefined {
  const history = children(child(vm, 'HISTORY_RECORDS', where), 'HISTORY', where);
  return text(history[history.length - 1], 'TM_MAD', where);
}

function commandOptions(options: XmlNode | undefined, where: string): Pick<VmSpec, 'command' | 'entrypoint' | 'workingDir' | 'user'> {
  if (options) {
    for (const key of Object.keys(options)) {
      if (!DOCKVISOR_OPTIONS.includes(key)) {
        throw new InvalidInputError(`${where}DOCKVISOR/${check.printable(key)} is not a known option (known: ${DOCKVISOR_OPTIONS.join(', ')})`);
      }
    }
  }
  const cmd = text(options, 'CMD', where);
  const entrypoint = text(options, 'ENTRYPOINT', where);
  const workingDir = text(options, 'WORKDIR', where);
  const user = text(options, 'USER', where);
  if (workingDir && !/^\/[\x21-\x7e]*$/.test(workingDir)) throw new InvalidInputError(`${where}DOCKVISOR/WORKDIR must be an absolute path`);
  if (user && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/.test(user)) {
    throw new InvalidInputError(`${where}DOCKVISOR/USER "${check.printable(user)}" is not a user or user:group`);
  }
  return {
    command: cmd ? splitWords(check.plainText(cmd, `${where}DOCKVISOR/CMD`, 8192), `${where}DOCKVISOR/CMD`) : undefined,
    entrypoint: entrypoint ? splitWords(check.plainText(entrypoint, `${where}DOCKVISOR/ENTRYPOINT`, 8192), `${where}DOCKVISOR/ENTRYPOINT`) : undefined,
    workingDir,
    user,
  };
}

/** CONTEXT variables become the container's environment, as context packages would export them; DOCKVISOR/ENV adds more. */
function environment(context: XmlNode | undefined, options: XmlNode | undefined, where: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(context ?? {})) {
    const value = text(context, key, `${where}CONTEXT/`) ?? '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    env[key] = check.plainText(value, `${where}CONTEXT/${key}`);
  }
  const extra = text(options, 'ENV', where);
  if (extra) {
    for (const word of splitWords(check.plainText(extra, `${where}DOCKVISOR/ENV`), `${where}DOCKVISOR/ENV`)) {
      const eq = word.indexOf('=');
      if (eq <= 0) throw new InvalidInputError(`${where}DOCKVISOR/ENV entry "${check.printable(word)}" is not NAME=value`);
      env[check.envName(word.slice(0, eq), `${where}DOCKVISOR/ENV name`)] = word.slice(eq + 1);
    }
  }
  return env;
}

function privileges(options: XmlNode | undefined, where: string): RequestedPrivileges {
  const result = noPrivileges();
  if (!options) return result;
  const flag = (key: string) => {
    const value = text(options, key, where)?.toUpperCase();
    if (value === undefined || value === 'NO') return false;
    if (value === 'YES') return true;
    throw new InvalidInputError(`${where}DOCKVISOR/${key} must be YES or NO`);
  };
  result.privileged = flag('PRIVILEGED');
  result.hostNetwork = flag('HOST_NETWORK');
  result.capabilities = words(text(options, 'CAP_ADD', where)?.replace(/,/g, ' ')).map((cap) => {
    if (!/^(CAP_)?[A-Z_]{2,32}$/.test(cap)) throw new InvalidInputError(`${where}DOCKVISOR/CAP_ADD "${check.printable(cap)}" is not a capability`);
    return cap.replace(/^CAP_/, '');
  });
  result.devices = words(text(options, 'DEVICES', where)?.replace(/,/g, ' ')).map((device) => {
    if (!/^\/dev\/[A-Za-z0-9/_.-]+$/.test(device) || device.includes('..')) {
      throw new InvalidInputError(`${where}DOCKVISOR/DEVICES "${check.printable(device)}" is not a device path`);
    }
    return device;
  });
  result.hostMounts = words(text(options, 'MOUNTS', where)?.replace(/,/g, ' ')).map((mount) => {
    const match = /^(\/[A-Za-z0-9/_.@-]*):(\/[A-Za-z0-9/_.@-]*)(:ro|:rw)?$/.exec(mount);
    if (!match) throw new InvalidInputError(`${where}DOCKVISOR/MOUNTS "${check.printable(mount)}" is not host-path:container-path[:ro]`);
    return { hostPath: match[1]!, containerPath: match[2]!, readOnly: match[3] === ':ro' };
  });
  const runtime = text(options, 'RUNTIME', where);
  if (runtime !== undefined) {
    if (!RUNTIME_NAME.test(runtime)) throw new InvalidInputError(`${where}DOCKVISOR/RUNTIME "${check.printable(runtime)}" is not a runtime name`);
    result.runtime = runtime;
  }
  return result;
}

function optionalNumber(node: XmlNode, name: string, where: string, max: number): number | undefined {
  const value = text(node, name, where);
  return value === undefined ? undefined : check.positiveNumber(value, `${where}${name}`, max);
}

function optionalInteger(node: XmlNode, name: string, where: string, max: number): number | undefined {
  const value = text(node, name, where);
  if (value === undefined) return undefined;
  const number = check.nonNegativeInteger(value, `${where}${name}`, max);
  if (number < 4) throw new InvalidInputError(`${where}${name} ${number} MB is too small for a container`);
  return number;
}

function words(value: string | undefined): string[] {
  return value ? value.split(/\s+/).filter(Boolean) : [];
}
