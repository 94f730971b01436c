import test from 'ava';
import { engineContract } from './helpers/engine-contract.ts';
import { realEngine } from './helpers/engine.ts';

// The Engine contract against the real local engine (the MemoryEngine runs the same: engine-contract-memory.test.ts).
engineContract(test, 'dvt-contract-real', realEngine);
