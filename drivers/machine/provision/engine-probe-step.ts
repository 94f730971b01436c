import { HostSetupError } from '../../core/errors.ts';
import { randomBytes } from 'node:crypto';
import type { HostEngine } from '../../core/open-engine.ts';
import type { ProvisionContext } from './context.ts';
import { waitFor } from './engine-step.ts';
import type { ProvisionStep } from './step.ts';

const PROBE_LABEL = 'io.dockvisor.probe';

/** End to end through one forwarded engine socket: create, start and remove a probe container. */
export const engineProbeStep: ProvisionStep = {
  id: 'engine-probe',
  title: 'end-to-end engine check',
  async check(context) {
    const engine = context.engine();
    const version = await engine.version();
    for (const leftover of await engine.listContainers([`${PROBE_LABEL}=true`])) await engine.removeContainer(leftover.Id);
    if (!(await engine.findImage(context.probeImage))) {
      await engine.pullImage(context.probeImage, 300_000).catch((error: Error) => {
        throw new HostSetupError(
          `the probe image ${context.probeImage} is not on the host and cannot be pulled (${error.message}); name one it has with --probe-image`,
        );
      });
    }
    const exitCode = await runProbe(engine, context.probeImage);
    if (exitCode !== 0) return { ok: false, detail: `the probe container exited ${exitCode}` };
    return { ok: true, detail: `engine ${version.Version} (API ${version.ApiVersion}): probe container created, started and removed` };
  },
};

async function runProbe(engine: HostEngine, image: string): Promise<number> {
  const name = `dockvisor-probe-${randomBytes(4).toString('hex')}`;
  try {
    await engine.createContainer(name, {
      Image: image,
      Cmd: ['true'],
      Labels: { [PROBE_LABEL]: 'true' },
      HostConfig: { NetworkMode: 'none' },
    });
    await engine.startContainer(name);
    return await waitFor(
      async () => {
        const state = (await engine.inspectContainer(name)).State;
        return state.Running ? undefined : { code: state.ExitCode ?? -1 };
      },
      20_000,
      'the probe container did not finish within 20 s',
      50,
    ).then((result) => result.code);
  } finally {
    await engine.removeContainer(name).catch(() => undefined);
  }
}
