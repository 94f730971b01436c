import { readFileSync } from 'node:fs';

/** A user as /etc/passwd lists it. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The user of that name or id in /etc/passwd; undefined when none (or the file cannot be read). */
export function passwdEntry(which: { name: string } | { uid: number }, file = '/etc/passwd'): PasswdEntry | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (!name || uid === undefined || gid === undefined) continue;
    const entry = { name, uid: Number(uid), gid: Number(gid), home: home ?? '' };
    if ('name' in which ? entry.name === which.name : entry.uid === which.uid) return entry;
  }
  return undefined;
}
