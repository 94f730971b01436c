import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Runs remotes/vmm/dockvisor/<action> the way OpenNebula's driver manager does: argv, and the document on stdin. */
export function runDriverAction(remotesDir: string, action: string, argv: string[], stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(remotesDir, 'vmm/dockvisor', action), argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout.trim()) : reject(new Error(stderr.trim() || `${action} exited ${code}`))));
    child.stdin.end(stdin);
  });
}
