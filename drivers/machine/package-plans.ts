import type { PackageFamily } from './host-os.ts';
import { shellCommand } from '../hosts/shell-quote.ts';

/** What each tool dockvisor needs on a host is called in each family's packages. */
const PACKAGES: Record<string, Record<PackageFamily, string>> = {
  engine: { apt: 'docker.io', dnf: 'moby-engine' },
  ip: { apt: 'iproute2', dnf: 'iproute' },
  nsenter: { apt: 'util-linux', dnf: 'util-linux' },
  iptables: { apt: 'iptables', dnf: 'iptables-nft' },
  ethtool: { apt: 'ethtool', dnf: 'ethtool' },
  sudo: { apt: 'sudo', dnf: 'sudo' },
  ruby: { apt: 'ruby', dnf: 'ruby' },
  rsync: { apt: 'rsync', dnf: 'rsync' },
  // The launchers' client of the action agent needs only the interpreter and its core modules.
  python3: { apt: 'python3-minimal', dnf: 'python3' },
  // Ruby libraries that may come apart from ruby. dnf installs them by what they provide, so the one
  // package of the release that has them (a rubygem-* or ruby-bundled-gems) is found.
  'ruby sqlite3': { apt: 'ruby-sqlite3', dnf: 'rubygem(sqlite3)' },
  'ruby rexml': { apt: 'ruby', dnf: 'rubygem(rexml)' },
  'ruby base64': { apt: 'ruby', dnf: 'rubygem(base64)' },
  'ruby yaml': { apt: 'ruby', dnf: 'rubygem(psych)' },
};

export type Tool = keyof typeof PACKAGES;

export function packagesFor(family: PackageFamily, tools: Tool[]): string[] {
  return [...new Set(tools.map((tool) => PACKAGES[tool]![family]))];
}

/** Root shell commands that install packages non-interactively, waiting for a package manager that is busy. */
export function installPlan(family: PackageFamily, packages: string[]): string[] {
  if (packages.length === 0) return [];
  if (family === 'apt') {
    return [
      'apt-get -o DPkg::Lock::Timeout=300 update -q',
      `DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends ${shellCommand(packages)}`,
    ];
  }
  return [`dnf install -y -q ${shellCommand(packages)}`];
}

/** Starts (and enables at boot) an installed engine that is not running. Never a restart. */
export function engineStartPlan(hasSystemd: boolean): string[] {
  return hasSystemd ? ['systemctl enable --now docker.service'] : ['service docker start'];
}

export function engineUpgradePlan(family: PackageFamily): string[] {
  const engine = PACKAGES.engine![family];
  return family === 'apt'
    ? [
        'apt-get -o DPkg::Lock::Timeout=300 update -q',
        `DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --only-upgrade ${engine}`,
      ]
    : [`dnf upgrade -y -q ${engine}`];
}

export function enginePurgePlan(family: PackageFamily): string[] {
  const engine = PACKAGES.engine![family];
  return family === 'apt' ? [`DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 purge -y -q ${engine}`] : [`dnf remove -y -q ${engine}`];
}
