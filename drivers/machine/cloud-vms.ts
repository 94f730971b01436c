import type { CloudAt } from './cloud-registration.ts';

/** What a host made from a cloud's VM template asks of its VM. */
export interface VmRequest {
  /** The guest's hostname (the host's name). */
  hostname: string;
  /** The key pair made for the host: its public half is authorised for the SSH user by the guest's contextualisation. */
  sshPublicKey: string;
  /** The SSH user, when not root: the guest creates it. */
  username?: string;
  networkId?: number;
  cpu?: number;
  vcpu?: number;
  memoryMb?: number;
}

/** A VM as the cloud knows it. */
export interface CloudVm {
  id: number;
  name: string;
  /** The cloud's words for its state (`PENDING`, `ACTIVE/PROLOG`, `ACTIVE/RUNNING`, `DONE`...). */
  state: string;
  running: boolean;
  done: boolean;
  /** The cloud's own error text, when the VM stopped in a failure state. */
  failure?: string;
  /** Its address, or why the address it was given cannot be used; undefined while it has none. */
  address: { address: string } | { refusal: string } | undefined;
  sshPublicKey?: string;
}

/** VMs of one cloud, over one connection to it; `close` when done. Every call is bounded in time. */
export interface CloudVms {
  /** The template of that name or id; a missing one is an InvalidInputError. */
  template(nameOrId: string): Promise<{ id: number; name: string }>;
  /** The network of that name or id; a missing one is an InvalidInputError. */
  network(nameOrId: string): Promise<{ id: number; name: string }>;
  /** Instantiates the template as a VM named `vmName`; its id. Refusals (quota, missing template) are InvalidInputErrors. */
  instantiate(templateId: number, vmName: string, request: VmRequest): Promise<number>;
  /** The VM of that id; undefined when the cloud no longer has it. */
  vm(id: number): Promise<CloudVm | undefined>;
  /** The live VMs of that name: how a create cut short before it learnt its VM's id finds the VM again. */
  vmsNamed(name: string): Promise<CloudVm[]>;
  /** Terminates the VM at once; one the cloud no longer has is fine. */
  terminate(id: number): Promise<void>;
  close(): void;
}

export type CloudVmsConnect = (at: CloudAt) => CloudVms;
