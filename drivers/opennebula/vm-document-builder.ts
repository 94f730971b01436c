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
  attach?: boolean;
  /** The virtual network's driver (bridge by default). */
  vnMad?: string;
  /** The security groups' ids, as oned lists them. */
  securityGroups?: string;
  /** The host interface a VLAN or VXLAN network's link rides on. */
  phydev?: string;
  /** The VLAN id, or the VNI of a VXLAN network. */
  vlanId?: string;
}

export interface DiskDraft {
  diskId: number;
  source?: string;
  imageId?: number;
  tmMad?: string;
  target?: string;
  type?: string;
  persistent?: boolean;
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
    element('BRIDGE_TYPE', 'linux') +
    element('IP', nic.ip) +
    element('MAC', nic.mac ?? macFor(vm.id, nic.nicId)) +
    element('NIC_ID', String(nic.nicId)) +
    element('PHYDEV', nic.phydev) +
    element('SECURITY_GROUPS', nic.securityGroups) +
    element('TARGET', nic.target ?? `one-${vm.id}-${nic.nicId}`) +
    element('GATEWAY', nic.gateway) +
    element('IP6', nic.ip6) +
    element('VLAN_ID', nic.vlanId) +
    element('VN_MAD', nic.vnMad ?? 'bridge') +
    '</NIC>'
  );
}

function diskXml(disk: DiskDraft): string {
  return (
    '<DISK>' +
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
