import test from 'ava';
import { containerConfig } from '../drivers/core/container-config.ts';
import { defaultHostSettings } from '../drivers/core/host-settings.ts';
import { instanceSpec } from '../drivers/nova/instance-spec.ts';

const request = (runtime?: string) => ({
  uuid: 'dcf60a09-0000-4000-8000-000000000001',
  image: 'dockvisor/busybox:latest',
  flavor: { vcpus: 1, memory_mb: 64, root_gb: 1 },
  ...(runtime === undefined ? {} : { runtime }),
});

test("a spawn's runtime (the flavor's dockvisor:runtime or the image's dockvisor_runtime) runs the container under it, where the host allows it", (t) => {
  const host = { ...defaultHostSettings(), allow: { ...defaultHostSettings().allow, runtimes: ['runsc'] } };
  t.is(containerConfig(instanceSpec(request('runsc')), host).HostConfig?.Runtime, 'runsc');
  t.is(containerConfig(instanceSpec(request()), host).HostConfig?.Runtime, undefined);
  t.throws(() => containerConfig(instanceSpec(request('runsc')), defaultHostSettings()), {
    message: /runtime runsc is not allowed by this host's configuration/,
  });
});
