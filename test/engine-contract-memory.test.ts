import test from 'ava';
import { MemoryEngine } from '../drivers/engine/memory-engine.ts';
import { engineContract } from './helpers/engine-contract.ts';
import { BASE_IMAGE } from './helpers/paths.ts';

// The Engine contract against the MemoryEngine, the one the fast tests run the core on (the real engine: engine-contract.test.ts).
const engine = new MemoryEngine();
engine.addImage(BASE_IMAGE);
engine.commands.set('/bin/cat', async (_args, stdin) => ({ stdout: stdin, stderr: Buffer.alloc(0), exitCode: 0 }));
engineContract(test, 'dvt-contract-memory', async () => engine);
