import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

export const probeDirs = {
  SYSTEM_HOST: 'host/system',
  MONITOR_HOST: 'host/monitor',
  STATE_VM: 'vm/status',
  MONITOR_VM: 'vm/monitor',
  SNAPSHOT_VM: 'vm/snapshot',
} as const;

export const allProbeDirs = ['host/system', 'host/monitor', 'host/beacon', 'vm/status', 'vm/monitor', 'vm/execution', 'vm/snapshot'];

export const probesRoot = join(repoRoot, 'remotes/im/dockvisor-probes.d');

/**
 * Runs one probe the way OpenNebula's monitord-client does: `<probe> dockvisor <host id> <host name>`, config on
 * stdin; as `user` when given (oneadmin's place on a real host).
 */
export function runProbe(
  path: string,
  stdin: string,
  env: NodeJS.ProcessEnv,
  hostId = '1',
  user?: { uid: number; gid: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path, ['dockvisor', hostId, 'localhost'], { env, stdio: ['pipe', 'pipe', 'pipe'], uid: user?.uid, gid: user?.gid });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/** Every executable file of a probe directory, as the client picks them. */
export function executables(dir: string): string[] {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile() && (statSync(path).mode & 0o111) !== 0);
}

/**
 * What monitord-client prints when monitoring starts: each category's probes run in turn, their output
 * joined and base64-encoded in a <MONITOR_MESSAGES> document. Fails like the client when a probe fails.
 */
export async function monitorMessages(stdin: string, env: NodeJS.ProcessEnv): Promise<{ document: string; decoded: Record<string, string> }> {
  let document = '<MONITOR_MESSAGES>';
  const decoded: Record<string, string> = {};
  for (const [element, dir] of Object.entries(probeDirs)) {
    let data = '';
    for (const probe of executables(join(probesRoot, dir))) {
      const result = await runProbe(probe, stdin, env);
      if (result.code !== 0) throw new Error(`Error executing ${probe}: ${result.stderr}`);
      data += result.stdout;
    }
    const name = element === 'SNAPSHOT_VM' ? 'MONITOR_VM' : element;
    decoded[element] = data;
    document += `<${name}>${Buffer.from(data).toString('base64')}</${name}>\n`;
  }
  document += `<TIMESTAMP>${Math.floor(Date.now() / 1000)}</TIMESTAMP></MONITOR_MESSAGES>`;
  return { document, decoded };
}

/** The MONITOR attribute of one VM in vm/monitor output, decoded to its keys. */
export function monitorOf(output: string, vmId: number | string): Record<string, string> | undefined {
  const line = output.split('\n').find((l) => l.includes(`ID="${vmId}",`));
  const encoded = line && /MONITOR="([^"]*)"/.exec(line)?.[1];
  if (!encoded) return undefined;
  const keys: Record<string, string> = {};
  for (const match of Buffer.from(encoded, 'base64')
    .toString()
    .matchAll(/^(\w+)=(?:"([^"]*)"|(\S*))$/gm))
    keys[match[1]!] = match[2] ?? match[3]!;
  return keys;
}
