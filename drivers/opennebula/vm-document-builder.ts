import { oneContainerName } from './one-labels.ts';
/**
 * VM documents in the form oned writes them (values in CDATA), for the demo and the tests: what a
 * deploy reads on stdin (`vmXml`) and what every other action reads (`actionXml`).
 */

export interface NicDraft {
  nicId: number;
  bridge: string;
  ip?: string;
  mac?: string;
  target?: string;
  mask?: string;
  gateway?: string;
  dns?: string;
  mtu?: string;
  ip6?: string;
  ip6Ula?: string;
  ip6PrefixLength?: string;
  ip6Gateway?: string;
  /** The virtual network's ROUTES, as the context variable ETH<n>_ROUTES. */
  routes?: string;
  /** More NIC attributes as oned copies them from the virtual network, e.g. INBOUND_AVG_BW. */
  attributes?: Record<string, string>;
  attach?: boolean;
  /** An Open vSwitch bridge (VN_MAD ovswitch) instead of a Linux one. */
  openvswitch?: boolean;
  /** The virtual network's driver (bridge by default). */
  vnMad?: string;
  /** The security groups' ids, as oned lists them. */
  securityGroups?: string;
  /** The host interface a VLAN or VXLAN network's link rides on. */
  phydev?: string;
  /** The VLAN id, or the VNI of a VXLAN network. */
  vlanId?: string;
}

/** A NIC_ALIAS on NIC `parentId`, with its context variables ETH<parent>_ALIAS<alias>_* unless `inContext` is false. */
export interface AliasDraft {
  nicId: number;
  aliasId: number;
  parentId: number;
  ip?: string;
  mask?: string;
  ip6?: string;
  mac?: string;
  external?: boolean;
  attach?: boolean;
  inContext?: boolean;
}

export interface DiskDraft {
  diskId: number;
  source?: string;
  imageId?: number;
  tmMad?: string;
  target?: string;
  type?: string;
  persistent?: boolean;
  /** Being attached or detached (oned's ATTACH=YES). */
  attach?: boolean;
}

export interface VmDraft {
  id: number;
  name?: string;
  lcmState?: number;
  cpu?: string;
  vcpu?: string;
  memory?: string;
  dockvisor?: Record<string, string>;
  context?: Record<string, string>;
  nics?: NicDraft[];
  aliases?: AliasDraft[];
  disks?: DiskDraft[];
  /** The system datastore's TM_MAD in the history record. */
  systemTm?: string;
  /** Raw XML added inside TEMPLATE, for documents that must be malformed on purpose. */
  extraTemplate?: string;
}

const cdata = (value: string) => `<![CDATA[${value}]]>`;
const element = (name: string, value: string | undefined) => (value === undefined ? '' : `<${name}>${cdata(value)}</${name}>`);

export function macFor(vmId: number, nicId: number): string {
  const hex = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
  return `02:00:${hex(vmId >> 8)}:${hex(vmId)}:${hex(nicId)}:01`;
}

function nicXml(vm: VmDraft, nic: NicDraft): string {
  return (
    '<NIC>' +
    element('ATTACH', nic.attach ? 'YES' : undefined) +
    element('BRIDGE', nic.bridge) +
    element('BRIDGE_TYPE', nic.openvswitch ? 'openvswitch' : 'linux') +
    element('IP', nic.ip) +
    element('MAC', nic.mac ?? macFor(vm.id, nic.nicId)) +
    element('NIC_ID', String(nic.nicId)) +
    element('PHYDEV', nic.phydev) +
    element('SECURITY_GROUPS', nic.securityGroups) +
    element('TARGET', nic.target ?? `one-${vm.id}-${nic.nicId}`) +
    element('GATEWAY', nic.gateway) +
    element('IP6', nic.ip6) +
    element('IP6_ULA', nic.ip6Ula) +
    element('NAME', `NIC${nic.nicId}`) +
    Object.entries(nic.attributes ?? {})
      .map(([k, v]) => element(k, v))
      .join('') +
    element('VLAN_ID', nic.vlanId) +
    element('VN_MAD', nic.vnMad ?? (nic.openvswitch ? 'ovswitch' : 'bridge')) +
    '</NIC>'
  );
}

function aliasXml(vm: VmDraft, alias: AliasDraft): string {
  const parent = vm.nics?.find((nic) => nic.nicId === alias.parentId);
  return (
    '<NIC_ALIAS>' +
    element('ALIAS_ID', String(alias.aliasId)) +
    element('ATTACH', alias.attach ? 'YES' : undefined) +
    element('BRIDGE', parent?.bridge) +
    element('EXTERNAL', alias.external ? 'YES' : undefined) +
    element('IP', alias.ip) +
    element('IP6', alias.ip6) +
    element('MAC', alias.mac ?? macFor(vm.id, alias.nicId)) +
    element('NAME', `NIC${alias.parentId}_ALIAS${alias.aliasId}`) +
    element('NIC_ID', String(alias.nicId)) +
    element('PARENT', `NIC${alias.parentId}`) +
    element('PARENT_ID', String(alias.parentId)) +
    element('VN_MAD', 'bridge') +
    '</NIC_ALIAS>'
  );
}

function diskXml(disk: DiskDraft): string {
  return (
    '<DISK>' +
    element('ATTACH', disk.attach ? 'YES' : undefined) +
    element('DISK_ID', String(disk.diskId)) +
    element('IMAGE_ID', disk.imageId === undefined ? undefined : String(disk.imageId)) +
    element('PERSISTENT', disk.persistent ? 'YES' : undefined) +
    element('SOURCE', disk.source) +
    element('TARGET', disk.target ?? `sd${String.fromCharCode(97 + disk.diskId)}`) +
    element('TM_MAD', disk.tmMad) +
    element('TYPE', disk.type ?? 'FILE') +
    '</DISK>'
  );
}

function contextXml(vm: VmDraft): string {
  const entries: Record<string, string> = { NETWORK: 'YES', SET_HOSTNAME: vm.name ?? `vm-${vm.id}` };
  for (const nic of vm.nics ?? []) {
    const prefix = `ETH${nic.nicId}_`;
    if (nic.ip) entries[`${prefix}IP`] = nic.ip;
    entries[`${prefix}MAC`] = nic.mac ?? macFor(vm.id, nic.nicId);
    if (nic.mask) entries[`${prefix}MASK`] = nic.mask;
    if (nic.gateway) entries[`${prefix}GATEWAY`] = nic.gateway;
    if (nic.dns) entries[`${prefix}DNS`] = nic.dns;
    if (nic.mtu) entries[`${prefix}MTU`] = nic.mtu;
    if (nic.ip6) entries[`${prefix}IP6`] = nic.ip6;
    if (nic.ip6Ula) entries[`${prefix}IP6_ULA`] = nic.ip6Ula;
    if (nic.ip6PrefixLength) entries[`${prefix}IP6_PREFIX_LENGTH`] = nic.ip6PrefixLength;
    if (nic.ip6Gateway) entries[`${prefix}IP6_GATEWAY`] = nic.ip6Gateway;
    if (nic.routes) entries[`${prefix}ROUTES`] = nic.routes;
  }
  for (const alias of vm.aliases ?? []) {
    if (alias.inContext === false) continue;
    const prefix = `ETH${alias.parentId}_ALIAS${alias.aliasId}_`;
    entries[`${prefix}MAC`] = alias.mac ?? macFor(vm.id, alias.nicId);
    if (alias.ip) entries[`${prefix}IP`] = alias.ip;
    if (alias.mask) entries[`${prefix}MASK`] = alias.mask;
    if (alias.ip6) entries[`${prefix}IP6`] = alias.ip6;
    if (alias.external) entries[`${prefix}EXTERNAL`] = 'YES';
  }
  Object.assign(entries, vm.context);
  return `<CONTEXT>${Object.entries(entries)
    .map(([k, v]) => element(k, v))
    .join('')}</CONTEXT>`;
}

export function vmXml(vm: VmDraft): string {
  const dockvisor = { IMAGE: 'dockvisor/busybox:latest', CMD: 'sleep infinity', ...vm.dockvisor };
  return (
    `<VM><ID>${vm.id}</ID><UID>0</UID><GID>0</GID><NAME>${vm.name ?? `vm-${vm.id}`}</NAME>` +
    `<STATE>3</STATE><LCM_STATE>${vm.lcmState ?? 2}</LCM_STATE><DEPLOY_ID></DEPLOY_ID><TEMPLATE>` +
    contextXml(vm) +
    element('CPU', vm.cpu ?? '0.5') +
    element('MEMORY', vm.memory ?? '128') +
    element('VCPU', vm.vcpu ?? '1') +
    (vm.nics ?? []).map((nic) => nicXml(vm, nic)).join('') +
    (vm.aliases ?? []).map((alias) => aliasXml(vm, alias)).join('') +
    (vm.disks ?? []).map(diskXml).join('') +
    element('VMID', String(vm.id)) +
    (vm.extraTemplate ?? '') +
    `</TEMPLATE><USER_TEMPLATE><DOCKVISOR>${Object.entries(dockvisor)
      .map(([k, v]) => element(k, v))
      .join('')}</DOCKVISOR></USER_TEMPLATE>` +
    `<HISTORY_RECORDS><HISTORY><OID>${vm.id}</OID><SEQ>0</SEQ><HOSTNAME>localhost</HOSTNAME><VM_MAD>${cdata('dockvisor')}</VM_MAD>${element('TM_MAD', vm.systemTm)}<DS_ID>100</DS_ID></HISTORY></HISTORY_RECORDS></VM>`
  );
}

export function actionXml(vm: VmDraft): string {
  return (
    `<VMM_DRIVER_ACTION_DATA><HOST>localhost</HOST><MIGR_HOST/><DEPLOY_ID>${oneContainerName(vm.id)}</DEPLOY_ID>` +
    `<LOCAL_DEPLOYMENT_FILE/><REMOTE_DEPLOYMENT_FILE/><CHECKPOINT_FILE/><TM_COMMAND/><TM_COMMAND_ROLLBACK/><DISK_TARGET_PATH/>` +
    vmXml(vm) +
    '<DATASTORE><ID>100</ID></DATASTORE></VMM_DRIVER_ACTION_DATA>'
  );
}

/** argv of deploy and of the actions whose first argument is the deploy id, ending in `<vid> <host>`. */
export const deployArgv = (id: number) => [`/var/lib/one//datastores/100/${id}/deployment.0`, 'localhost', String(id), 'localhost'];
export const idArgv = (id: number) => [oneContainerName(id), 'localhost', String(id), 'localhost'];
