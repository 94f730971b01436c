import { parseLegacyRelease, parseOsRelease, supportedOs, type HostOs } from '../host-os.ts';
import type { ProvisionStep } from './step.ts';

const RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release', '/etc/debian_version', '/etc/redhat-release'];

/** Detects the distribution; an unsupported one is named with what is supported. */
export const osStep: ProvisionStep = {
  id: 'os',
  title: 'operating system',
  async check(context) {
    const kernel = (await context.session.must('uname -sm')).trim();
    if (!/^Linux (x86_64|aarch64)$/.test(kernel)) return { ok: false, detail: `${kernel} is not supported: dockvisor hosts are Linux on x86_64 or aarch64` };
    const listing = await context.session.must(
      `for f in ${RELEASE_FILES.join(' ')}; do if [ -r "$f" ]; then echo "@@file $f"; cat "$f"; fi; done`,
    );
    const os = readRelease(listing);
    if (!os) return { ok: false, detail: `cannot tell the distribution: none of ${RELEASE_FILES.join(', ')} is readable` };
    const verdict = supportedOs(os);
    if ('unsupported' in verdict) return { ok: false, detail: verdict.unsupported };
    context.os = verdict;
    return { ok: true, detail: `${verdict.prettyName} (${kernel.split(' ')[1]})` };
  },
};

function readRelease(listing: string): HostOs | undefined {
  const sections = listing.split(/^@@file /m).filter(Boolean);
  for (const section of sections) {
    const newline = section.indexOf('\n');
    const file = section.slice(0, newline).trim();
    const text = section.slice(newline + 1);
    const os = file.endsWith('os-release') ? parseOsRelease(text) : parseLegacyRelease(file, text);
    if (os) return os;
  }
  return undefined;
}
