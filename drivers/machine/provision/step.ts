import type { ProvisionContext } from './context.ts';

export interface StepCheck {
  ok: boolean;
  /** What was found, in a few words (shown and recorded). */
  detail: string;
}

/**
 * One provisioning step. `check` looks without changing anything; `apply` makes the change and is only
 * called when the check fails. A step without `apply` is a pure check: failing it stops the run.
 */
export interface ProvisionStep {
  id: string;
  title: string;
  check(context: ProvisionContext): Promise<StepCheck>;
  apply?(context: ProvisionContext): Promise<void>;
}
