import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { writeFileAtomically } from '../../drivers/core/atomic-file.ts';
import { ensureStateDir, vmmRemotes } from './paths.ts';

export interface ActionResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A host config for tests: never pull (no registry is reachable), short shutdown waits, and a front-end
 * identity of their own, so that an OpenNebula monitoring this machine never reports the tests' VMs.
 */
export function testConfigPath(overrides: Record<string, unknown> = {}, name = 'dockvisor.json'): string {
  const path = join(ensureStateDir(), name);
  // Written whole then renamed: test files running side by side read it while others rewrite it.
  writeFileAtomically(path, JSON.stringify({ imagePull: 'never', shutdownTimeoutSeconds: 3, frontEndId: 'dockvisor-tests', ...overrides }));
  return path;
}

/** Starts remotes/vmm/dockvisor/<action> exactly as OpenNebula would: argv, and the document on stdin. */
export function startAction(action: string, argv: string[], stdin: string, configPath = testConfigPath()): ChildProcess {
  return startExecutable(join(vmmRemotes, action), argv, stdin, { env: { ...process.env, DOCKVISOR_CONFIG: configPath } });
}

/** Starts a driver executable with argv and stdin, as oned does; `options` says as whom and with which environment. */
export function startExecutable(path: string, argv: string[], stdin: string, options: Pick<SpawnOptions, 'env' | 'uid' | 'gid'>): ChildProcess {
  const child = spawn(path, argv, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined); // an action that fails before reading stdin is reported by its exit, not by EPIPE
  child.stdin!.end(stdin);
  return child;
}

export function runAction(action: string, argv: string[], stdin: string, configPath?: string): Promise<ActionResult> {
  const child = startAction(action, argv, stdin, configPath);
  return collect(child);
}

export function collect(child: ChildProcess): Promise<ActionResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A refusal as OpenNebula shows it: a non-zero exit other than 42, nothing on stdout, one line on stderr. */
export function assertOneLineRefusal(t: ExecutionContext, result: ActionResult, pattern: RegExp): void {
  t.not(result.code, 0);
  t.not(result.code, 42);
  t.is(result.stdout, '');
  const lines = result.stderr.split('\n').filter(Boolean);
  t.is(lines.length, 1, `one line on stderr, got: ${result.stderr}`);
  t.regex(lines[0] ?? '', pattern);
}
