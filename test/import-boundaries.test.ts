import test from 'ava';
import { join } from 'node:path';
import { checkImports, repositoryFiles } from '../scripts/check-imports.ts';

const repo = join(import.meta.dirname, '..');

test('the repository keeps its import boundaries', (t) => {
  t.deepEqual(checkImports(repositoryFiles(repo)), []);
});

test('a core file importing an adapter is caught, one line per import and rule', (t) => {
  const files = new Map([
    ['drivers/core/vm-spec.ts', "import { x } from '../opennebula/xml.ts';\nimport type { Y } from '../nova/power-state.ts';\n"],
    ['drivers/opennebula/xml.ts', 'export const x = 1;\n'],
    ['drivers/nova/power-state.ts', 'export type Y = 1;\n'],
  ]);
  t.deepEqual(checkImports(files), [
    'drivers/core/vm-spec.ts: imports drivers/opennebula/xml.ts (the core imports no adapter or platform)',
    'drivers/core/vm-spec.ts: imports drivers/opennebula/xml.ts (only the OpenNebula adapter knows OpenNebula)',
    'drivers/core/vm-spec.ts: imports drivers/nova/power-state.ts (the core imports no adapter or platform)',
  ]);
});

test('engine types outside the engine and the core, a platform in the image library, OpenNebula elsewhere and a cycle are caught', (t) => {
  const files = new Map([
    ['drivers/nova/power-state.ts', "import type { ContainerState } from '../engine/types.ts';\n"],
    ['drivers/images/image-store.ts', "export {\n  hosts,\n} from '../opennebula/rpc/hosts.ts';\n"],
    ['drivers/hosts/host-store.ts', "const n = await import('../nova/nova-labels.ts');\n"],
    ['drivers/opennebula/rpc/hosts.ts', "import { s } from '../../images/image-store.ts';\n"],
    ['drivers/engine/types.ts', ''],
    ['drivers/nova/nova-labels.ts', ''],
  ]);
  t.deepEqual(checkImports(files), [
    'drivers/nova/power-state.ts: imports drivers/engine/types.ts (only drivers/engine and drivers/core import the engine)',
    'drivers/images/image-store.ts: imports drivers/opennebula/rpc/hosts.ts (drivers/images imports no platform)',
    'drivers/images/image-store.ts: imports drivers/opennebula/rpc/hosts.ts (only the OpenNebula adapter knows OpenNebula)',
    'drivers/hosts/host-store.ts: imports drivers/nova/nova-labels.ts (drivers/hosts imports no platform)',
    'import cycle between packages drivers/images -> drivers/opennebula -> drivers/images (drivers/images/image-store.ts -> drivers/opennebula/rpc/hosts.ts; drivers/opennebula/rpc/hosts.ts -> drivers/images/image-store.ts)',
  ]);
});
