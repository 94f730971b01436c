/** What the Nova adapter keeps on an instance's container, beside the core's labels. */

/** The VIFs the instance was spawned with, as core NICs (JSON): later verbs re-plug them. */
export const NOVA_LABEL_NICS = 'io.dockvisor.nova.nics';
/** Nova's name of the instance (`instance-0000002a`, its instance_name_template), what list_instances answers. */
export const NOVA_LABEL_NAME = 'io.dockvisor.nova.name';
/** The flavor's vcpus, memory_mb and root_gb (JSON), what the host's used resources add up. */
export const NOVA_LABEL_RESOURCES = 'io.dockvisor.nova.flavor';
