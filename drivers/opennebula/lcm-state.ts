/** OpenNebula LCM states a VMM action needs to tell apart (include/VirtualMachine.h). */
export const LcmState = {
  BOOT: 2,
  SHUTDOWN: 12,
  CLEANUP_RESUBMIT: 15,
  SHUTDOWN_POWEROFF: 18,
  BOOT_POWEROFF: 20,
  BOOT_STOPPED: 22,
  CLEANUP_DELETE: 23,
  SHUTDOWN_UNDEPLOY: 29,
} as const;

/** Only a terminate removes the container; poweroff, undeploy and anything unknown keep it and its data. */
export function stopRemovesContainer(lcmState: number): boolean {
  return lcmState === LcmState.SHUTDOWN;
}
