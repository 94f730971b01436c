import { parseLegacyRelease, parseOsRelease, supportedOs, type HostOs } from '../host-os.ts';
import { RELEASE_FILES } from './host-survey.ts';
import type { ProvisionStep } from './step.ts';

/** Detects the distribution; an unsupported one is named with what is supported. */
export const osStep: ProvisionStep = {
  id: 'os',
  title: 'operating system',
  async check(context) {
    const facts = await context.facts();
    if (!/^Linux (x86_64|aarch64)$/.test(facts.kernel))
      return { ok: false, detail: `${facts.kernel || 'this system'} is not supported: dockvisor hosts are Linux on x86_64 or aarch64` };
    const os = readRelease(facts.releases);
    if (!os) return { ok: false, detail: `cannot tell the distribution: none of ${RELEASE_FILES.join(', ')} is readable` };
    const verdict = supportedOs(os);
    if ('unsupported' in verdict) return { ok: false, detail: verdict.unsupported };
    context.os = verdict;
    return { ok: true, detail: `${verdict.prettyName} (${facts.kernel.split(' ')[1]})` };
  },
};

function readRelease(releases: Map<string, string>): HostOs | undefined {
  for (const file of RELEASE_FILES) {
    const text = releases.get(file);
    if (text === undefined) continue;
    const os = file.endsWith('os-release') ? parseOsRelease(text) : parseLegacyRelease(file, text);
    if (os) return os;
  }
  return undefined;
}
