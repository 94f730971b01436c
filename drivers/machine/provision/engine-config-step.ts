import { HostSetupError } from '../../core/errors.ts';
import { dirname } from 'node:path';
import { shellQuote } from '../../hosts/shell-quote.ts';
import { HOST_LABEL, type ProvisionContext } from './context.ts';
import { waitFor } from './engine-step.ts';
import { flagValues, hasFlag } from './dockerd-flags.ts';
import type { ProvisionStep } from './step.ts';

const DEFAULT_DAEMON_CONFIG = '/etc/docker/daemon.json';

async function engineSettings(context: ProvisionContext): Promise<{ liveRestore: boolean; labelled: boolean }> {
  const info = await context.engine().info();
  return { liveRestore: info.LiveRestoreEnabled === true, labelled: (info.Labels ?? []).includes(HOST_LABEL) };
}

/**
 * live-restore (containers survive an engine restart or upgrade) and dockvisor's engine label. Both are
 * settings dockerd reloads on SIGHUP: the engine is never restarted, its storage driver never touched.
 */
export const engineConfigStep: ProvisionStep = {
  id: 'engine-config',
  title: 'engine settings (live-restore, label)',
  async check(context) {
    const { liveRestore, labelled } = await engineSettings(context);
    const missing = [...(liveRestore ? [] : ['live-restore']), ...(labelled ? [] : [`label ${HOST_LABEL}`])];
    return missing.length ? { ok: false, detail: `missing ${missing.join(' and ')}` } : { ok: true, detail: `live-restore on, label ${HOST_LABEL}` };
  },
  async apply(context) {
    const { listener } = await context.facts();
    if (!listener) throw new HostSetupError(`nothing listens on ${context.engineSocket}`);
    const { liveRestore, labelled } = await engineSettings(context);
    const file = flagValues(listener.args, '--config-file').at(-1) ?? DEFAULT_DAEMON_CONFIG;
    if (!labelled && hasFlag(listener.args, '--label')) {
      throw new HostSetupError(`dockerd sets its labels with --label flags, which a ${file} "labels" key would clash with: add --label ${HOST_LABEL} to them`);
    }
    const current = await context.session.run(context.session.asRoot(`cat ${shellQuote(file)}`));
    let settings: Record<string, unknown> = {};
    if (current.code === 0 && current.stdout.trim()) {
      try {
        settings = JSON.parse(current.stdout) as Record<string, unknown>;
      } catch {
        throw new HostSetupError(`${file} is not valid JSON; left alone: fix it, then resume`);
      }
      if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new HostSetupError(`${file} is not a JSON object; left alone`);
    }
    if (!liveRestore) settings['live-restore'] = true;
    if (!labelled) settings.labels = [...(Array.isArray(settings.labels) ? (settings.labels as unknown[]) : []), HOST_LABEL];
    const quoted = shellQuote(file);
    await context.root(
      `mkdir -p ${shellQuote(dirname(file))} && { [ ! -e ${quoted} ] || [ -e ${quoted}.dockvisor-orig ] || cp -p ${quoted} ${quoted}.dockvisor-orig; } && cat > ${quoted}.dockvisor-new && mv -f ${quoted}.dockvisor-new ${quoted} && kill -HUP ${listener.pid}`,
      `${JSON.stringify(settings, null, 2)}\n`,
    );
    await waitFor(
      async () => {
        const now = await engineSettings(context);
        return now.liveRestore && now.labelled;
      },
      15_000,
      `dockerd did not take the new settings from ${file} on SIGHUP within 15 s (see its log)`,
    );
  },
};
