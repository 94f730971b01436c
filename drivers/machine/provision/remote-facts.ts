import { shellQuote } from '../shell-quote.ts';
import type { ProvisionContext } from './context.ts';

/** The process listening on the engine socket, as `ss` shows it on the host: pid and command line. */
export async function engineListener(context: ProvisionContext): Promise<{ pid: number; args: string[] } | undefined> {
  const listing = await context.root('ss -xlpnH');
  const line = listing.split('\n').find((row) => row.trim().split(/\s+/)[4] === context.engineSocket);
  const pid = Number(/pid=(\d+)/.exec(line ?? '')?.[1]);
  if (!line || !Number.isInteger(pid)) return undefined;
  const args = (await context.root(`cat /proc/${pid}/cmdline`)).split('\0').filter(Boolean);
  return { pid, args };
}

/** Where each named command lives on the host (PATH of a root login plus the sbin directories). */
export async function commandPaths(context: ProvisionContext, names: string[]): Promise<Map<string, string>> {
  const found = await context.root(
    `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; for c in ${names.map(shellQuote).join(' ')}; do p=$(command -v "$c") && echo "$c $p"; done; true`,
  );
  return new Map(found.split('\n').filter(Boolean).map((line) => line.split(' ', 2) as [string, string]));
}

/** The value of a dockerd flag given as `--flag=value` or `--flag value`, last one winning. */
export function flagValues(args: string[], flag: string): string[] {
  const values: string[] = [];
  args.forEach((arg, index) => {
    if (arg === flag && args[index + 1] !== undefined) values.push(args[index + 1]!);
    else if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1));
  });
  return values;
}

export function hasFlag(args: string[], flag: string): boolean {
  return args.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
}
