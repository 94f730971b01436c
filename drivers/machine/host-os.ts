/** What a host runs, from /etc/os-release (or the older files some distributions still have instead). */
export interface HostOs {
  id: string;
  idLike: string[];
  versionId: string;
  prettyName: string;
}

export type PackageFamily = 'apt' | 'dnf';

export interface SupportedOs extends HostOs {
  family: PackageFamily;
}

/** Reads os-release text (`KEY=value`, values optionally quoted). */
export function parseOsRelease(text: string): HostOs | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    fields.set(match[1]!, match[2]!.replace(/^(["'])(.*)\1$/, '$2').replace(/\\(.)/g, '$1'));
  }
  const id = fields.get('ID')?.toLowerCase();
  if (!id) return undefined;
  return {
    id,
    idLike: (fields.get('ID_LIKE') ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    versionId: fields.get('VERSION_ID') ?? '',
    prettyName: fields.get('PRETTY_NAME') ?? `${id} ${fields.get('VERSION_ID') ?? ''}`.trim(),
  };
}

/** For hosts without os-release: /etc/debian_version or /etc/redhat-release. */
export function parseLegacyRelease(file: string, text: string): HostOs | undefined {
  const line = text.trim().split('\n')[0] ?? '';
  if (file.endsWith('debian_version') && /^\d+/.test(line)) {
    return { id: 'debian', idLike: [], versionId: line.split('.')[0]!, prettyName: `Debian ${line}` };
  }
  if (file.endsWith('redhat-release') && line) {
    const version = /release (\d+)/.exec(line)?.[1] ?? '';
    return { id: /centos/i.test(line) ? 'centos' : 'rhel', idLike: ['rhel'], versionId: version, prettyName: line };
  }
  return undefined;
}

/**
 * The distributions whose own packages carry a Docker engine dockvisor works with: Debian >= 11 and
 * Ubuntu >= 20.04 (docker.io), Fedora >= 38 (moby-engine). Anything else is named, not guessed at.
 */
export function supportedOs(os: HostOs): SupportedOs | { unsupported: string } {
  const major = Number.parseFloat(os.versionId);
  const like = (name: string) => os.id === name || os.idLike.includes(name);
  if (os.id === 'debian' && major >= 11) return { ...os, family: 'apt' };
  if (os.id === 'ubuntu' && major >= 20.04) return { ...os, family: 'apt' };
  if (os.id === 'fedora' && major >= 38) return { ...os, family: 'dnf' };
  if (like('debian') || like('ubuntu')) {
    return {
      unsupported: `${os.prettyName} is not supported: dockvisor provisions Debian >= 11, Ubuntu >= 20.04 and Fedora >= 38 (this one derives from Debian; its packages are not checked)`,
    };
  }
  return { unsupported: `${os.prettyName} is not supported: dockvisor provisions Debian >= 11, Ubuntu >= 20.04 and Fedora >= 38` };
}
