import { accessStep } from './access-step.ts';
import { agentStep } from './agent-step.ts';
import { engineConfigStep } from './engine-config-step.ts';
import { engineProbeStep } from './engine-probe-step.ts';
import { engineStep } from './engine-step.ts';
import { opennebulaToolsStep } from './opennebula-tools-step.ts';
import { osStep } from './os-step.ts';
import { registerStep } from './register-step.ts';
import { runtimeStep } from './runtime-step.ts';
import type { ProvisionStep } from './step.ts';
import { sudoersStep } from './sudoers-step.ts';
import { toolsStep } from './tools-step.ts';

/** In order: each step may rely on what the earlier ones made sure of. */
export const PROVISION_STEPS: ProvisionStep[] = [
  osStep,
  engineStep,
  toolsStep,
  runtimeStep,
  opennebulaToolsStep,
  accessStep,
  sudoersStep,
  engineConfigStep,
  engineProbeStep,
  agentStep,
  registerStep,
];
