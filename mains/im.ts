import { InvalidInputError } from '../drivers/core/errors.ts';
import { join } from 'node:path';
import { runOpenNebulaEntryPoint } from '../drivers/opennebula/entry-point.ts';
import { loadHostSettings } from '../drivers/core/host-settings.ts';
import { localEngine } from '../drivers/core/host-services.ts';
import { VmInventory } from '../drivers/core/vm-inventory.ts';
import { readBoundedStdin } from '../drivers/core/bounded-stdin.ts';
import { MAX_DOCUMENT_BYTES } from '../drivers/opennebula/xml.ts';
import { legacyMonitorConfig, parseMonitorConfig } from '../drivers/opennebula/monitor/monitor-config.ts';
import { datastoreDiskProbe, probes } from '../drivers/opennebula/monitor/probes.ts';

/**
 * Entry point of the probes in remotes/im/dockvisor-probes.d: `im.mjs <probe> <hypervisor> <host id> <host name>`
 * with monitord's <MONITOR_CONFIGURATION> on stdin. Prints the probe's lines; on failure one line on stderr, exit 1.
 */
const [probe = '', hypervisor = 'dockvisor'] = process.argv.slice(2);
const remotesDir = join(import.meta.dirname, '../..');
const configPath = process.env.DOCKVISOR_CONFIG ?? join(remotesDir, 'etc/vmm/dockvisor/dockvisor.conf');

async function main(): Promise<void> {
  const run = probe === 'monitor-ds' ? datastoreDiskProbe : Object.hasOwn(probes, probe) ? probes[probe]! : undefined;
  if (!run) throw new InvalidInputError(`unknown probe "${probe.slice(0, 40)}"`);
  // tm/dockvisor/monitor_ds gets a datastore directory and no configuration: its cache is the host's own.
  const stdin = probe === 'monitor-ds' ? '' : await readBoundedStdin(MAX_DOCUMENT_BYTES);
  // 5.x runs probes with no configuration on stdin: the host id is then the one before the host name.
  const monitor =
    probe === 'monitor-ds'
      ? { hostId: 0, syncStateSeconds: 180 }
      : stdin.trim() || probe !== 'poll-5x'
        ? parseMonitorConfig(stdin)
        : legacyMonitorConfig(process.argv.slice(2));
  const host = loadHostSettings(configPath);
  const engine = localEngine(host);
  try {
    const output = await run({
      hypervisor,
      host,
      monitor,
      inventory: new VmInventory(engine),
      remotesDir,
      warn: (line) => process.stderr.write(`dockvisor ${probe}: ${line}\n`),
    });
    process.stdout.write(output);
  } finally {
    await engine.close();
  }
}

runOpenNebulaEntryPoint(`dockvisor ${probe}`, main);
