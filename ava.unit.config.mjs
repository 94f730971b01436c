// The fast tier: the test files that need no root, no Docker engine, no sshd, no built bundles and no network
// beyond loopback (parsing, document formats, schemas, configurations, plans, units, oned replayed by nock).
// `npm run test:unit` runs them as any user in seconds; `npm test` runs them with everything else (package.json).
import packageJson from './package.json' with { type: 'json' };

export default {
  ...packageJson.ava,
  files: [
    'test/bridge-firewall-memory.test.ts',
    'test/command-records.test.ts',
    'test/connection-keeper-protocol.test.ts',
    'test/action-agent.test.ts',
    'test/opennebula-keeper-plan.test.ts',
    'test/datastore-vm-document.test.ts',
    'test/engine-contract-memory.test.ts',
    'test/engine-faults.test.ts',
    'test/entry-point.test.ts',
    'test/host-capacity.test.ts',
    'test/host-from-template-units.test.ts',
    'test/host-opennebula-tools.test.ts',
    'test/host-store.test.ts',
    'test/host-units.test.ts',
    'test/image-volumes-memory.test.ts',
    'test/import-boundaries.test.ts',
    'test/monitoring-cgroups.test.ts',
    'test/monitoring-exits.test.ts',
    'test/monitoring-state-changes.test.ts',
    'test/network-settings.test.ts',
    'test/nova-diagnostics-units.test.ts',
    'test/nova-instances-memory.test.ts',
    'test/nova-migration-memory.test.ts',
    'test/nova-runtime.test.ts',
    'test/nova-units.test.ts',
    'test/opennebula-document-limits.test.ts',
    'test/opennebula-install-config.test.ts',
    'test/opennebula-rpc.test.ts',
    'test/opennebula-vmm-memory.test.ts',
    'test/ovs-argv.test.ts',
    'test/stall-timer.test.ts',
    'test/test-ids.test.ts',
    'test/vm-document.test.ts',
  ],
};
