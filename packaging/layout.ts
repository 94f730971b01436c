/**
 * Where dockvisor's package puts things (paths relative to /), for the package build, the OpenNebula
 * installer and provisioning alike.
 */
export const PACKAGE_LAYOUT = {
  /** dockvisor's Node.js runtime: where the launchers and /usr/bin/dockvisor look for it. */
  runtime: 'usr/lib/dockvisor/node',
  /** The OpenNebula remotes tree the installer places under /var/lib/one/remotes. */
  remotes: 'usr/lib/dockvisor/remotes',
  nova: 'usr/lib/dockvisor/nova',
  /** Default configurations, conffiles: the installer copies them into the remotes' etc/ once. */
  hostConfig: 'etc/dockvisor/opennebula/vmm/dockvisor.conf',
  transferConfig: 'etc/dockvisor/opennebula/tm/dockvisor.conf',
  doc: 'usr/share/doc/dockvisor',
} as const;
