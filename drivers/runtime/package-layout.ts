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
  /** The `dockvisor` command's bundle, cli.mjs, which /usr/bin/dockvisor runs; and the demo's: apart from the remotes, never copied to hosts. */
  cli: 'usr/lib/dockvisor/cli',
  demo: 'usr/lib/dockvisor/demo',
  /** Default configurations, conffiles: the installer copies them into the remotes' etc/ once. */
  hostConfig: 'etc/dockvisor/opennebula/vmm/dockvisor.conf',
  transferConfig: 'etc/dockvisor/opennebula/tm/dockvisor.conf',
  doc: 'usr/share/doc/dockvisor',
} as const;
