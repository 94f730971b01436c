import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { InvalidInputError } from '../../core/errors.ts';

/** The OpenNebula releases whose configuration files and remotes layout dockvisor knows. */
export const KNOWN_RELEASES = ['6.10', '7.0', '7.4'] as const;
export type OneRelease = (typeof KNOWN_RELEASES)[number];

export interface OneVersion {
  version: string;
  release: OneRelease;
  /** Where it was read: the file, `oned --version`, or `--one-version`. */
  source: string;
}

/** Where a packaged front-end says its version (`VERSION = '7.4.0'`). */
export const ONE_RUBY_FILE = '/usr/lib/one/ruby/opennebula.rb';

export interface VersionSources {
  /** `--one-version`: wins over what the front-end says. */
  override?: string;
  rubyFile?: string;
  /** The oned executable asked when the file is not there (default `oned` on PATH). */
  oned?: string;
}

/**
 * The front-end's OpenNebula version: `--one-version`, else the OpenNebula Ruby library's VERSION, else
 * `oned --version`. A version dockvisor does not know is refused, so nothing is written for a layout it has not seen.
 */
export function oneVersion(sources: VersionSources = {}): OneVersion {
  if (sources.override !== undefined) return known(sources.override, '--one-version');
  const rubyFile = sources.rubyFile ?? ONE_RUBY_FILE;
  if (existsSync(rubyFile)) {
    const found = /^\s*VERSION\s*=\s*['"]([^'"]+)['"]/m.exec(readFileSync(rubyFile, 'utf8'))?.[1];
    if (!found) throw new InvalidInputError(`${rubyFile} does not say which OpenNebula version it is (no VERSION = '...'); pass --one-version`);
    return known(found, rubyFile);
  }
  const oned = sources.oned ?? 'oned';
  const asked = spawnSync(oned, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const found = /OpenNebula\s+([0-9][0-9.]*)/.exec(asked.stdout ?? '')?.[1];
  if (asked.error || !found) {
    throw new InvalidInputError(
      `cannot tell the OpenNebula version: no ${rubyFile}, and \`${oned} --version\` ${asked.error ? 'cannot run' : 'does not say'}; pass --one-version`,
    );
  }
  return known(found, `${oned} --version`);
}

function known(version: string, source: string): OneVersion {
  const release = /^(\d+\.\d+)(?:\.\d+)*$/.exec(version)?.[1];
  const safe = version.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
  if (!release) throw new InvalidInputError(`"${safe}" (${source}) is not an OpenNebula version`);
  if (!(KNOWN_RELEASES as readonly string[]).includes(release)) {
    throw new InvalidInputError(`OpenNebula ${safe} (${source}) is not a version dockvisor knows (${KNOWN_RELEASES.join(', ')})`);
  }
  return { version, release: release as OneRelease, source };
}
