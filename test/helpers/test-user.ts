import { execFileSync } from 'node:child_process';

/** A local user for running driver executables as a non-root user would (oneadmin on a real host). */
export interface TestUser {
  name: string;
  uid: number;
  /** The docker group's id: the user's processes reach the engine socket as oneadmin does. */
  gid: number;
}

/** Makes `name` afresh: no home, no login shell, its primary group the engine socket's. */
export function createTestUser(name: string): TestUser {
  removeTestUser(name);
  const gid = Number(execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' }).split(':')[2]);
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--gid', String(gid), name]);
  return { name, uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()), gid };
}

export function removeTestUser(name: string): void {
  execFileSync('sh', ['-c', `userdel ${name} 2>/dev/null; true`]);
}
