import { InvalidInputError, NotSupportedError } from '../core/errors.ts';
import { printable } from '../core/validate.ts';

type Argument =
  | 'deploy id'
  | 'host'
  | 'deployment file'
  | 'checkpoint file'
  | 'snapshot id'
  | 'snapshot name'
  | 'MAC'
  | 'bridge'
  | 'model'
  | 'network driver'
  | 'target'
  | 'context target'
  | 'context path'
  | 'disk path'
  | 'disk target'
  | 'target index';

/**
 * What oned's one_vmm_exec passes each action before the `<vm id> <host>` it appends to every call,
 * for the actions dockvisor performs (the others are refused whatever their arguments).
 */
const ARGUMENTS: Record<string, Argument[]> = {
  deploy: ['deployment file', 'host'],
  shutdown: ['deploy id', 'host'],
  cancel: ['deploy id', 'host'],
  cleanup: ['deploy id', 'host'],
  reboot: ['deploy id', 'host'],
  reset: ['deploy id', 'host'],
  poll: ['deploy id', 'host'],
  save: ['deploy id', 'checkpoint file', 'host'],
  restore: ['checkpoint file', 'host', 'deploy id'],
  resize: ['deploy id'],
  snapshot_create: ['deploy id', 'snapshot id'],
  snapshot_revert: ['deploy id', 'snapshot name'],
  snapshot_delete: ['deploy id', 'snapshot name'],
  attach_nic: ['deploy id', 'MAC', 'bridge', 'model', 'network driver', 'target'],
  detach_nic: ['deploy id', 'MAC'],
  // The action data (the VM with its DISK marked ATTACH=YES) comes on stdin, as for every other action.
  attach_disk: ['deploy id', 'disk path', 'disk target', 'target index'],
  detach_disk: ['deploy id', 'disk path', 'disk target', 'target index'],
  prereconfigure: ['deploy id', 'context target'],
  reconfigure: ['deploy id', 'context target', 'context path'],
  exec_cancel: [],
};

const VM_ID = /^(0|[1-9][0-9]{0,9})$/;
// Deploy ids of dockvisor (one-<vid>) and of other drivers a VM may have come from: one word.
const DEPLOY_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,254}$/;
const HOST = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,254}$/;

/**
 * Refuses an argv that is not the one oned passes `action`: the count, the VM id, the host, the deploy id
 * and the files; each other argument is one line of text. The VM id must then be the document's.
 */
export function checkActionArgv(action: string, argv: string[]): void {
  if (action === 'exec') return checkExecArgv(argv);
  // one_vmm_exec.rb before 7.4 also passed the action data, base64, as attach_disk's 5th argument; 7.4 gives it on
  // stdin only, as to every action, which is what dockvisor reads.
  if (action === 'attach_disk' && argv.length === 7) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(argv[4]!)) throw new InvalidInputError("attach_disk's 5th argument on the command line is not base64");
    return checkActionArgv(action, [...argv.slice(0, 4), ...argv.slice(5)]);
  }
  const expected = ARGUMENTS[action];
  if (!expected) throw new NotSupportedError(`${action}: not supported by dockvisor`);
  const names = [...expected, 'vm id', 'host'];
  if (argv.length !== names.length) {
    throw new InvalidInputError(`expected ${names.length} arguments (${names.map((n) => `<${n}>`).join(' ')}), got ${argv.length}`);
  }
  const vmIdText = argv[argv.length - 2]!;
  const host = argv[argv.length - 1]!;
  const refuse = (what: string, value: string, why: string): never => {
    throw new InvalidInputError(`${what} "${printable(value)}" on the command line ${why}`);
  };
  if (!VM_ID.test(vmIdText) || Number(vmIdText) >= 2 ** 31) refuse('VM id', vmIdText, 'is not a VM id');
  if (!HOST.test(host)) refuse('host', host, 'is not a host name');
  expected.forEach((name, i) => {
    const value = argv[i]!;
    if (/[\x00-\x1f\x7f]/.test(value)) refuse(name, value, 'has control characters');
    if (name === 'host' && value !== host) throw new InvalidInputError(`host "${printable(value)}" and host "${printable(host)}" on the command line differ`);
    if (name === 'deploy id' && !DEPLOY_ID.test(value)) refuse(name, value, 'is not a deploy id');
    if (name === 'deployment file' && !new RegExp(`^/.*/${vmIdText}/deployment\\.[0-9]+$`).test(value)) {
      refuse(name, value, `is not <datastore path>/${vmIdText}/deployment.<n>`);
    }
    if (name === 'checkpoint file' && !value.startsWith('/')) refuse(name, value, 'is not an absolute path');
    if (name === 'disk path' && !new RegExp(`^/.*/${vmIdText}/disk\\.[0-9]+$`).test(value)) refuse(name, value, `is not <datastore path>/${vmIdText}/disk.<n>`);
    if (name === 'disk target' && !/^([A-Za-z0-9_-]{1,32}|\/.{0,4095})$/.test(value)) refuse(name, value, 'is not a device name or an absolute path');
    if (name === 'target index' && !/^[0-9]{1,4}$/.test(value)) refuse(name, value, 'is not a number');
  });
}

/** The VM id an action's argv names: the first of `exec`'s, the one before the host of every other action's. */
export function actionVmId(action: string, argv: string[]): string | undefined {
  return action === 'exec' ? argv[0] : argv.at(-2);
}

/**
 * `exec` is the one action oned calls with the VM id and host first (no_extra_params): `<vm id> <host> <command>`
 * and, when the operator gave input, `<input, base64>`. The command is one line of text; the input is base64.
 */
function checkExecArgv(argv: string[]): void {
  if (argv.length < 3 || argv.length > 4) {
    throw new InvalidInputError(`expected 3 or 4 arguments (<vm id> <host> <command> [<input, base64>]), got ${argv.length}`);
  }
  const [vmIdText = '', host = '', command = '', input] = argv;
  if (!VM_ID.test(vmIdText) || Number(vmIdText) >= 2 ** 31) throw new InvalidInputError(`VM id "${printable(vmIdText)}" on the command line is not a VM id`);
  if (!HOST.test(host)) throw new InvalidInputError(`host "${printable(host)}" on the command line is not a host name`);
  if (/[\x00-\x1f\x7f]/.test(command)) throw new InvalidInputError(`command "${printable(command)}" on the command line has control characters`);
  if (input !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(input)) throw new InvalidInputError("the command's input on the command line is not base64");
}
