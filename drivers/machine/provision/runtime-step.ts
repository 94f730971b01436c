import { HostSetupError } from '../../core/errors.ts';
import { spawn } from 'node:child_process';
import { localRuntimeDir, pinnedRuntime, runtimeArch, RUNTIME_VERSION, type RuntimeArch } from '../../runtime/runtime.ts';
import { shellQuote } from '../../hosts/shell-quote.ts';
import type { ProvisionContext } from './context.ts';
import type { ProvisionStep } from './step.ts';

/** A runtime upload on a slow link: 60 MB at about 100 KB/s. */
const UPLOAD_TIMEOUT_MS = 15 * 60_000;

function hostArch(context: ProvisionContext, kernel: string): RuntimeArch {
  const machine = kernel.split(/\s+/)[1] ?? '';
  const arch = runtimeArch(machine);
  if (!arch) throw new HostSetupError(`dockvisor ships no Node.js runtime for ${machine || 'this machine'} (${context.record.name}): x86_64 and aarch64 only`);
  return arch;
}

/**
 * dockvisor's own Node.js runtime for the driver scripts OpenNebula runs on the host, in its own directory:
 * a node the system has (the distribution's, often too old) is never touched, and the launchers use this one.
 */
export const runtimeStep: ProvisionStep = {
  id: 'runtime',
  title: `dockvisor's Node.js ${RUNTIME_VERSION} runtime`,
  async check(context) {
    const { kernel, runtimeSha256 } = await context.facts();
    const arch = hostArch(context, kernel);
    if (runtimeSha256 === pinnedRuntime(arch).nodeSha256) return { ok: true, detail: `${context.runtimeDir} (node ${RUNTIME_VERSION}, ${arch})` };
    return { ok: false, detail: runtimeSha256 ? `${context.runtimeDir} holds another node than ${RUNTIME_VERSION}` : `${context.runtimeDir} is missing` };
  },
  async apply(context) {
    const arch = hostArch(context, (await context.facts()).kernel);
    const source = await localRuntimeDir(arch);
    // Unpacked beside the runtime, checked against the pinned digest, then put in place in two renames.
    const dir = shellQuote(context.runtimeDir);
    const script = [
      'set -e',
      `d=${dir}`,
      'rm -rf "$d.new" "$d.old"; mkdir -p "$d.new"',
      'tar -xzf - -C "$d.new" --no-same-owner',
      `if [ "$(sha256sum "$d.new/bin/node" | cut -d" " -f1)" != ${pinnedRuntime(arch).nodeSha256} ]; then rm -rf "$d.new"; echo "the runtime arrived damaged" >&2; exit 1; fi`,
      'chmod 755 "$d.new"',
      'if [ -e "$d" ]; then mv "$d" "$d.old"; fi; mv "$d.new" "$d"; rm -rf "$d.old"',
    ].join('\n');
    const packer = spawn('tar', ['-czf', '-', '-C', source, 'bin/node', 'LICENSE'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await context.root(script, { stdin: packer.stdout, timeoutMs: UPLOAD_TIMEOUT_MS });
  },
};
