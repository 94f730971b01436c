import { join } from 'node:path';
import { runEntryPoint } from '../core/entry-point.ts';
import { runDemo } from './demo/demo.ts';

runEntryPoint('dockvisor demo', () => runDemo(join(import.meta.dirname, '../..')));
