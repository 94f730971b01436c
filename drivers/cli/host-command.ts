import { InvalidInputError } from '../core/errors.ts';
import { writeFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { SHELLS, type Shell } from '../machine/shell-env.ts';
import { wholeNumberFlag } from './whole-number-flag.ts';
import { positiveNumber } from '../core/validate.ts';

type SetExitCode = (code: number) => void;

const say = (line: string) => process.stdout.write(`${line}\n`);

// No yargs defaults: yargs gives a flag typed without a value its default, where it should be refused.
const NO_CLUSTER = -1;
const HOST_TIMEOUT_MS = 10_000;
const clusterFlag = {
  type: 'string',
  coerce: wholeNumberFlag('--cluster', { max: 2 ** 31, none: NO_CLUSTER }),
  describe: `OpenNebula cluster id (default ${NO_CLUSTER}: none)`,
} as const;
const timeoutFlag = {
  type: 'string',
  coerce: wholeNumberFlag('--timeout', { min: 1, max: 3_600_000 }),
  describe: `milliseconds each host may take (default ${HOST_TIMEOUT_MS})`,
} as const;

const START_TIMEOUT_S = 300;
const cpuFlag = (value: unknown) => {
  if (Array.isArray(value)) throw new InvalidInputError('--cpu is given more than once');
  return positiveNumber(String(value), '--cpu', 1024);
};

async function store() {
  const { HostStore } = await import('../hosts/host-store.ts');
  return new HostStore();
}

function connectFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('accept-new-host-key', { type: 'boolean', default: false, describe: 'accept and record a host key known_hosts does not list yet' })
    .option('known-hosts', { type: 'string', describe: 'known_hosts file (default ~/.ssh/known_hosts)' });
}

/** How `create` and `provision` connect, from the flags `connectFlags` adds. */
function connectOptions(argv: { 'accept-new-host-key': boolean; 'known-hosts'?: string }) {
  return { acceptNewHostKey: argv['accept-new-host-key'], ...(argv['known-hosts'] ? { knownHostsFile: argv['known-hosts'] } : {}) };
}

function provisionSummary(name: string, summary: { steps: number; changes: number; elapsedMs: number }): string {
  return `${name}: provisioned, ${summary.steps} steps, ${summary.changes} change${summary.changes === 1 ? '' : 's'} (${(summary.elapsedMs / 1000).toFixed(1)} s)`;
}

/** `dockvisor host ...`: hosts provisioned over SSH and registered with OpenNebula. */
export function hostCommand(setExitCode: SetExitCode): CommandModule {
  return {
    command: 'host <command>',
    describe: 'provision and manage dockvisor hosts over SSH',
    builder: (yargs) =>
      yargs
        .command({
          command: 'create <name>',
          describe:
            'turn a Linux server reachable over SSH (--ssh), or a VM made from an OpenNebula template (--opennebula-template), into a dockvisor host and register it with OpenNebula',
          builder: (y) =>
            connectFlags(y)
              .positional('name', { type: 'string', demandOption: true })
              .option('ssh', { type: 'string', describe: 'user@address[:port] of an existing server' })
              .option('identity', { alias: 'i', type: 'string', describe: 'SSH private key file (default: ssh-agent, then ~/.ssh/id_*)' })
              .option('opennebula-template', { type: 'string', describe: 'make the host from a VM instantiated from this OpenNebula template (name or id)' })
              .option('network', { type: 'string', describe: "the VM's one NIC on this virtual network (name or id; default: the template's NICs)" })
              .option('cpu', { type: 'string', coerce: cpuFlag, describe: "the VM's CPU (default: the template's)" })
              .option('vcpu', { type: 'string', coerce: wholeNumberFlag('--vcpu', { min: 1, max: 1024 }), describe: "the VM's VCPU (default: the template's)" })
              .option('memory', {
                type: 'string',
                coerce: wholeNumberFlag('--memory', { min: 1, max: 2 ** 31 }),
                describe: "the VM's memory in MB (default: the template's)",
              })
              .option('ssh-user', { type: 'string', describe: 'the user the VM authorises the key made for it for (default root)' })
              .option('start-timeout', {
                type: 'string',
                coerce: wholeNumberFlag('--start-timeout', { min: 1, max: 86_400 }),
                describe: `seconds the VM may take to run, get an address and answer SSH (default ${START_TIMEOUT_S})`,
              })
              .option('cluster', clusterFlag)
              .option('opennebula', { type: 'string', describe: 'oned XML-RPC endpoint (default $ONE_XMLRPC or http://localhost:2633/RPC2)' })
              .option('one-name', { type: 'string', describe: 'the host name OpenNebula reaches it by (default: the SSH address)' })
              .option('register', { type: 'boolean', default: true, describe: 'register with OpenNebula (--no-register to skip)' })
              .option('engine-socket', { type: 'string', describe: 'engine socket on the host (default /var/run/docker.sock)' })
              .option('one-user', { type: 'string', describe: "OpenNebula's user on the host (default oneadmin)" })
              .option('probe-image', { type: 'string', describe: 'image of the end-to-end check container (default busybox:latest)' })
              .option('remotes-dir', { type: 'string', describe: "OpenNebula's SCRIPTS_REMOTE_DIR on the host (default /var/tmp/one)" })
              .check((argv) => {
                const template = argv['opennebula-template'] !== undefined;
                if (template === (argv.ssh !== undefined)) throw new InvalidInputError('create needs either --ssh or --opennebula-template (not both)');
                const vmOnly = ['network', 'cpu', 'vcpu', 'memory', 'ssh-user', 'start-timeout'].filter((flag) => argv[flag] !== undefined);
                if (!template && vmOnly.length) throw new InvalidInputError(`--${vmOnly[0]} goes with --opennebula-template`);
                if (template && argv.identity !== undefined)
                  throw new InvalidInputError('--identity does not go with --opennebula-template: a key pair is made for the host');
                return true;
              }),
          handler: async (argv) => {
            const { progressFor } = await import('../machine/provision/progress.ts');
            const { connectOpenNebula } = await import('../opennebula/rpc/host-registration.ts');
            const settings = {
              ...(argv['engine-socket'] ? { engineSocket: argv['engine-socket'] } : {}),
              ...(argv['one-user'] ? { oneUser: argv['one-user'] } : {}),
              ...(argv['probe-image'] ? { probeImage: argv['probe-image'] } : {}),
              ...(argv['remotes-dir'] ? { remotesDir: argv['remotes-dir'] } : {}),
            };
            const register = argv.register
              ? {
                  clusterId: argv.cluster ?? NO_CLUSTER,
                  ...(argv['one-name'] ? { hostName: argv['one-name'] } : {}),
                }
              : false;
            if (argv['opennebula-template'] !== undefined) {
              const { createHostFromTemplate } = await import('../machine/template-host.ts');
              const { connectOpenNebulaVms } = await import('../opennebula/rpc/vm-hosts.ts');
              const summary = await createHostFromTemplate(
                await store(),
                argv.name!,
                {
                  ...settings,
                  template: argv['opennebula-template'],
                  ...(argv.network !== undefined ? { network: argv.network } : {}),
                  ...(argv.cpu !== undefined ? { cpu: argv.cpu } : {}),
                  ...(argv.vcpu !== undefined ? { vcpu: argv.vcpu } : {}),
                  ...(argv.memory !== undefined ? { memoryMb: argv.memory } : {}),
                  sshUser: argv['ssh-user'] ?? 'root',
                  startTimeoutMs: (argv['start-timeout'] ?? START_TIMEOUT_S) * 1000,
                  ...(argv.opennebula ? { endpoint: argv.opennebula } : {}),
                  register,
                },
                connectOptions(argv),
                progressFor(process.stderr),
                { registration: connectOpenNebula, vms: connectOpenNebulaVms },
              );
              say(provisionSummary(argv.name!, summary));
              return;
            }
            const { createHost } = await import('../machine/provisioner.ts');
            const summary = await createHost(
              await store(),
              argv.name!,
              {
                ...settings,
                ssh: argv.ssh!,
                ...(argv.identity ? { identityFile: argv.identity } : {}),
                register: register ? { ...register, ...(argv.opennebula ? { endpoint: argv.opennebula } : {}) } : false,
              },
              connectOptions(argv),
              progressFor(process.stderr),
              connectOpenNebula,
            );
            say(provisionSummary(argv.name!, summary));
          },
        })
        .command({
          command: 'provision <name>',
          describe: 'run the provisioning steps again: each checks first, a healthy host is left as it is',
          builder: (y) => connectFlags(y).positional('name', { type: 'string', demandOption: true }),
          handler: async (argv) => {
            const { provisionHost } = await import('../machine/provisioner.ts');
            const { provisionTemplateHost } = await import('../machine/template-host.ts');
            const { progressFor } = await import('../machine/provision/progress.ts');
            const { connectOpenNebula } = await import('../opennebula/rpc/host-registration.ts');
            const { connectOpenNebulaVms } = await import('../opennebula/rpc/vm-hosts.ts');
            const hosts = await store();
            const progress = progressFor(process.stderr);
            const summary = hosts.get(argv.name!).vm
              ? await provisionTemplateHost(hosts, argv.name!, connectOptions(argv), progress, { registration: connectOpenNebula, vms: connectOpenNebulaVms })
              : await provisionHost(hosts, argv.name!, connectOptions(argv), progress, connectOpenNebula);
            say(provisionSummary(argv.name!, summary));
          },
        })
        .command({
          command: 'ls',
          describe: 'every host with its state, engine, containers and OpenNebula id (in parallel)',
          builder: (y) => y.option('json', { type: 'boolean', default: false }).option('timeout', timeoutFlag),
          handler: async (argv) => {
            const { hostStatuses, withVmStates } = await import('../machine/host-status.ts');
            const { formatHostTable } = await import('./host-table.ts');
            const records = (await store()).list();
            const cloud = records.some((record) => record.oneHostId !== undefined) ? await optionalCloud() : undefined;
            const timeoutMs = argv.timeout ?? HOST_TIMEOUT_MS;
            try {
              const [statuses, vms] = await Promise.all([hostStatuses(records, timeoutMs, cloud), optionalVms(records)]);
              const withVms = await withVmStates(statuses, records, vms, timeoutMs);
              process.stdout.write(argv.json ? `${JSON.stringify(withVms, null, 2)}\n` : formatHostTable(withVms));
            } finally {
              cloud?.close();
            }
          },
        })
        .command({
          command: 'inspect <name>',
          describe: "the host's record as JSON (no key material is ever stored in it)",
          builder: (y) => y.positional('name', { type: 'string', demandOption: true }),
          handler: async (argv) => {
            say(JSON.stringify((await store()).get(argv.name!), null, 2));
          },
        })
        .command({
          command: 'status <name>',
          describe: "the host's state (exit 1 unless Running)",
          builder: (y) =>
            y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }).option('timeout', timeoutFlag),
          handler: async (argv) => {
            const { hostStatus, withVmStates } = await import('../machine/host-status.ts');
            const record = (await store()).get(argv.name!);
            const timeoutMs = argv.timeout ?? HOST_TIMEOUT_MS;
            const [status] = await withVmStates([await hostStatus(record, timeoutMs)], [record], await optionalVms([record]), timeoutMs);
            const vm = status!.vm ? `; VM ${status!.vm.id ?? '-'} ${status!.vm.state}` : '';
            say(argv.json ? JSON.stringify(status, null, 2) : `${status!.state}${status!.error ? `: ${status!.error}` : ''}${vm}`);
            if (status!.state !== 'Running') setExitCode(1);
          },
        })
        .command({
          command: 'env [name]',
          describe: 'print the shell commands that point the docker CLI at the host',
          builder: (y) =>
            y
              .positional('name', { type: 'string' })
              .option('shell', { choices: SHELLS, describe: 'shell syntax (default: from $SHELL)' })
              .option('unset', { alias: 'u', type: 'boolean', default: false }),
          handler: async (argv) => {
            const { detectShell, shellEnv } = await import('../machine/shell-env.ts');
            if (!argv.unset && !argv.name) throw new InvalidInputError('env needs a host name (or --unset)');
            const record = argv.name ? (await store()).get(argv.name) : undefined;
            process.stdout.write(shellEnv(record, (argv.shell as Shell | undefined) ?? detectShell(), argv.unset));
          },
        })
        .command({
          command: 'ssh <name> [command..]',
          describe: 'run a command on the host, or open a shell (words after -- are passed on)',
          builder: (y) => y.positional('name', { type: 'string', demandOption: true }).positional('command', { type: 'string', array: true }),
          handler: async (argv) => {
            const { sshIntoHost } = await import('../hosts/host-shell.ts');
            const words = [...((argv.command as string[] | undefined) ?? []), ...argv._.slice(2).map(String)];
            setExitCode(await sshIntoHost((await store()).get(argv.name!), words));
          },
        })
        .command({
          command: 'rm <names..>',
          describe: 'unregister hosts from OpenNebula and forget them; the engine stays unless --purge; a host made from a template goes with its VM',
          builder: (y) =>
            y
              .positional('names', { type: 'string', array: true, demandOption: true })
              .option('purge', { type: 'boolean', default: false, describe: 'also remove the engine packages and the sudo rule' })
              .option('force', {
                alias: 'f',
                type: 'boolean',
                default: false,
                describe: 'forget the host even when OpenNebula cannot be told; purge, or terminate its VM, with dockvisor VMs on it',
              }),
          handler: async (argv) => {
            const { removeHost } = await import('../machine/host-removal.ts');
            const { connectOpenNebula } = await import('../opennebula/rpc/host-registration.ts');
            const { connectOpenNebulaVms } = await import('../opennebula/rpc/vm-hosts.ts');
            const hosts = await store();
            for (const name of argv.names as string[]) {
              await removeHost(hosts, name, { purge: argv.purge, force: argv.force, cloud: connectOpenNebula, vms: connectOpenNebulaVms, say });
            }
          },
        })
        .command({
          command: 'upgrade <name>',
          describe: "upgrade the host's engine packages (refused while VMs run unless --force)",
          builder: (y) => y.positional('name', { type: 'string', demandOption: true }).option('force', { alias: 'f', type: 'boolean', default: false }),
          handler: async (argv) => {
            const { upgradeHost } = await import('../machine/host-upgrade.ts');
            await upgradeHost(await store(), argv.name!, { force: argv.force, say });
          },
        })
        .command({
          command: 'export <name>',
          describe: 'write the host as a JSON bundle another operator can import',
          builder: (y) =>
            y
              .positional('name', { type: 'string', demandOption: true })
              .option('with-key', { type: 'boolean', default: false, describe: 'include the SSH private key' })
              .option('output', { alias: 'o', type: 'string', describe: 'file to write (0600; default stdout)' }),
          handler: async (argv) => {
            const { exportHost } = await import('../machine/host-transfer.ts');
            const text = `${JSON.stringify(exportHost((await store()).get(argv.name!), argv['with-key']), null, 2)}\n`;
            if (argv.output) writeFileSync(argv.output, text, { mode: 0o600 });
            else process.stdout.write(text);
          },
        })
        .command({
          command: 'import <file>',
          describe: 'add a host from an exported bundle (- for stdin)',
          builder: (y) =>
            y
              .positional('file', { type: 'string', demandOption: true })
              .option('name', { type: 'string', describe: 'store it under another name' })
              .option('identity', { alias: 'i', type: 'string', describe: 'the SSH key to use when the bundle has none' }),
          handler: async (argv) => {
            const { importHost, readHostBundle } = await import('../machine/host-transfer.ts');
            // yargs hands a lone `-` to a string positional as an empty string.
            const text = await readHostBundle(argv.file || '-');
            const record = importHost(await store(), text, {
              ...(argv.name ? { name: argv.name } : {}),
              ...(argv.identity ? { identityFile: argv.identity } : {}),
            });
            say(`${record.name}: imported (${record.ssh.user}@${record.ssh.address}:${record.ssh.port})`);
          },
        })
        .demandCommand(1, 'host needs a sub-command (try dockvisor host --help)'),
    handler: () => undefined,
  };
}

/** OpenNebula's view for listings, when credentials are at hand; listings work without it. */
async function optionalCloud() {
  const { connectOpenNebula } = await import('../opennebula/rpc/host-registration.ts');
  try {
    return connectOpenNebula({ env: process.env });
  } catch {
    return undefined;
  }
}

/** OpenNebula's VMs for listings of hosts made from templates, when credentials are at hand. */
async function optionalVms(records: Array<{ vm?: unknown }>) {
  if (!records.some((record) => record.vm)) return undefined;
  const { connectOpenNebulaVms } = await import('../opennebula/rpc/vm-hosts.ts');
  const { oneEndpoint } = await import('../opennebula/rpc/one-credentials.ts');
  try {
    oneEndpoint({}, process.env);
    return connectOpenNebulaVms;
  } catch {
    return undefined;
  }
}
