import { CommandRunner } from '../../core/command-runner.ts';
import { BridgeFirewall } from '../../core/bridge-firewall.ts';
import { LocalHostAccess } from '../../core/host-access.ts';
import { defaultHostSettings } from '../../core/host-settings.ts';
import { linkExists } from '../../core/host-links.ts';
import { openEngine } from '../../core/open-engine.ts';
import { actionXml, deployArgv, idArgv, vmXml, type VmDraft } from '../../opennebula/vm-document-builder.ts';
import { runDriverAction } from './driver-process.ts';

const BRIDGE = 'dvdemo0';
const HOST_ADDRESS = '198.18.100.1/24';

const demoVms: VmDraft[] = [101, 102, 103].map((id, i) => ({
  id,
  name: `demo-${i + 1}`,
  cpu: '0.25',
  vcpu: '1',
  memory: '64',
  nics: [{ nicId: 0, bridge: BRIDGE, ip: `198.18.100.${11 + i}`, mask: '255.255.255.0', gateway: '198.18.100.1' }],
}));

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * The main job on the embedded default: this machine's Docker engine is the OpenNebula host. VMs are
 * deployed from OpenNebula VM documents through the driver's own executables, checked, powered off,
 * resumed with their data and terminated, leaving nothing behind.
 */
export async function runDemo(remotesDir: string): Promise<void> {
  const commands = new CommandRunner(defaultHostSettings().rootCommandPrefix);
  const engine = openEngine({ socketPath: defaultHostSettings().engineSocket });
  const firewall = new BridgeFirewall(new LocalHostAccess(commands));
  const driver = (action: string, argv: string[], stdin: string) => runDriverAction(remotesDir, action, argv, stdin);
  const inside = async (vmId: number, ...command: string[]) => {
    const pid = (await engine.inspectContainer(`one-${vmId}`)).State.Pid;
    return commands.asRoot(['nsenter', `--target=${pid}`, '--mount', '--uts', '--ipc', '--net', '--pid', ...command]);
  };
  const problems: string[] = [];
  const check = (ok: boolean, yes: string, no: string, what: string) => {
    if (!ok) problems.push(what);
    return ok ? yes : no;
  };
  const reachable = (promise: Promise<unknown>, what: string) =>
    promise
      .then(
        () => true,
        () => false,
      )
      .then((ok) => check(ok, 'reachable', 'NOT reachable', what));

  try {
    say(`dockvisor demo: the local Docker engine (${(await engine.version()).Version}) as an OpenNebula host`);
    await removeLeftovers(driver, firewall, commands);
    await commands.asRoot(['ip', 'link', 'add', BRIDGE, 'type', 'bridge']);
    await commands.asRoot(['ip', 'addr', 'add', HOST_ADDRESS, 'dev', BRIDGE]);
    await commands.asRoot(['ip', 'link', 'set', BRIDGE, 'up']);
    say(`virtual network: bridge ${BRIDGE}, host address ${HOST_ADDRESS}\n`);

    say('deploy (onevm deploy):');
    for (const vm of demoVms) {
      const started = Date.now();
      const deployId = await driver('deploy', deployArgv(vm.id), vmXml(vm));
      const state = (await engine.inspectContainer(deployId)).State.Status;
      say(`  VM ${vm.id} ${vm.name}  deploy id ${deployId}  IP ${vm.nics![0]!.ip}  ${state}  (${Date.now() - started} ms)`);
    }

    say('\nnetworking:');
    for (const vm of demoVms) {
      const ip = vm.nics![0]!.ip!;
      say(`  host -> ${ip}: ${await reachable(commands.run(['ping', '-c', '1', '-W', '2', ip]), `host to ${ip}`)}`);
    }
    const [first, second] = demoVms as [VmDraft, VmDraft];
    const between = await reachable(inside(first.id, 'ping', '-c', '1', '-W', '2', second.nics![0]!.ip!), 'VM to VM');
    say(`  one-${first.id} -> one-${second.id} (${second.nics![0]!.ip}): ${between}`);

    for (const vm of demoVms) await inside(vm.id, 'sh', '-c', `echo "written by ${vm.name}" > /root/demo-data`);
    say('\npoweroff (onevm poweroff), then resume (onevm resume):');
    for (const vm of demoVms) {
      await driver('shutdown', idArgv(vm.id), actionXml({ ...vm, lcmState: 18 }));
      const stopped = (await engine.inspectContainer(`one-${vm.id}`)).State.Status;
      await driver('deploy', deployArgv(vm.id), vmXml({ ...vm, lcmState: 20 }));
      const data = (await inside(vm.id, 'cat', '/root/demo-data')).trim();
      say(
        `  one-${vm.id}: ${stopped} -> ${(await engine.inspectContainer(`one-${vm.id}`)).State.Status}, data kept: ${check(data === `written by ${vm.name}`, 'yes', 'NO', `data of one-${vm.id}`)}`,
      );
    }

    say('\nterminate (onevm terminate):');
    for (const vm of demoVms) await driver('shutdown', idArgv(vm.id), actionXml({ ...vm, lcmState: 12 }));
    const left = await engine.listContainers(['io.dockvisor.owner=dockvisor']);
    const leftLinks = demoVms.filter((vm) => linkExists(`one-${vm.id}-0`)).length;
    const leftContainers = left.filter((c) => demoVms.some((vm) => c.Names[0] === `/one-${vm.id}`)).length;
    say(`  containers left: ${leftContainers}, veths left: ${leftLinks}`);
    check(leftContainers + leftLinks === 0, '', '', 'leftovers after terminate');
    if (problems.length) throw new Error(`failed checks: ${problems.join(', ')}`);
  } finally {
    await removeLeftovers(driver, firewall, commands);
    await engine.close();
  }
  say('done: nothing left behind');
}

async function removeLeftovers(
  driver: (action: string, argv: string[], stdin: string) => Promise<string>,
  firewall: BridgeFirewall,
  commands: CommandRunner,
): Promise<void> {
  for (const vm of demoVms) await driver('cleanup', idArgv(vm.id), actionXml(vm));
  if (linkExists(BRIDGE)) await commands.asRoot(['ip', 'link', 'del', BRIDGE]);
  await firewall.forgetBridge(BRIDGE);
}
