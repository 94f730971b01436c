import type { Engine } from '../engine/engine.ts';
import type { ContainerInspect } from '../engine/types.ts';
import { killedForMemory } from './vm-status.ts';

/**
 * Whether the VM's last run ended in the kernel's OOM killer. The engine's OOMKilled flag loses a race when the
 * container's exit is handled before the OOM notice (seen on a loaded host): a SIGKILL exit is then checked
 * against the engine's `oom` events of that run, which it records either way.
 */
export async function endedInOomKill(engine: Engine, container: ContainerInspect): Promise<boolean> {
  const { State: state } = container;
  if (killedForMemory(state)) return true;
  if (state.Running || state.ExitCode !== 137 || state.StartedAt.startsWith('0001-') || state.FinishedAt.startsWith('0001-')) return false;
  return engine.sawOomKill(container.Name.replace(/^\//, ''), state.StartedAt, state.FinishedAt).catch(() => false);
}
