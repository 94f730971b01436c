/** Which cloud a host is registered with: its endpoint (the cloud's default when absent), credentials read from `env`. */
export interface CloudAt {
  endpoint?: string;
  env: NodeJS.ProcessEnv;
}

/** A host as the cloud knows it. */
export interface CloudHost {
  id: number;
  name: string;
  state: string;
  /** Its drivers in the cloud's words, for messages ("dockvisor/dockvisor"). */
  drivers: string;
  /** Whether those are dockvisor's drivers. */
  ourDrivers: boolean;
}

/** Registration of hosts with one cloud, over one connection to it; `close` when done. */
export interface CloudRegistration {
  /**
   * Registers the host with dockvisor's drivers and returns its id. A host of that name registered already
   * with dockvisor's drivers is adopted, never duplicated; one with other drivers is refused and left alone.
   */
  register(hostName: string, clusterId: number): Promise<number>;
  /** The host of that id; undefined when the cloud no longer has it. */
  host(id: number): Promise<CloudHost | undefined>;
  /** Every host the cloud has: their ids and states for `dockvisor host ls`. */
  hosts(): Promise<CloudHost[]>;
  /** Unregisters the host; one that is not registered is fine. */
  unregister(id: number): Promise<void>;
  close(): void;
}

/**
 * Connects to the cloud hosts are registered with (OpenNebula: `drivers/opennebula/rpc/host-registration.ts`);
 * throws when its endpoint or credentials are not usable. The CLI hands it to provisioning, which knows no cloud itself.
 */
export type CloudConnect = (at: CloudAt) => CloudRegistration;
