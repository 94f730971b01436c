"""The compute service's diagnostics answer as Nova's two forms: the Diagnostics object and the older flat dict."""
from nova.compute import power_state
from nova import objects


def instance_diagnostics(answer):
    # 'driver' is left unset: nova's HypervisorDriverField accepts only the drivers nova itself ships.
    diags = objects.Diagnostics(state=power_state.STATE_MAP[answer['power_state']], hypervisor=answer['hypervisor'],
                                hypervisor_os=answer['hypervisor_os'], uptime=answer['uptime'], config_drive=False)
    memory = answer['memory_details']
    diags.memory_details = objects.MemoryDiagnostics(maximum=memory['maximum'], used=memory['used'])
    for cpu in answer['cpu_details']:
        diags.add_cpu(id=cpu['id'], time=cpu['time'], utilisation=cpu['utilisation'])
    for nic in answer['nic_details']:
        diags.add_nic(**{key: value for key, value in nic.items() if key != 'name'})
    for disk in answer['disk_details']:
        diags.add_disk(**{key: value for key, value in disk.items() if key != 'name'})
    return diags


def legacy_diagnostics(answer):
    """Keyed as libvirt's are (cpu0_time, memory, vda_read, <nic>_rx...), with the health and the last exit added."""
    flat = {'state': power_state.STATE_MAP[answer['power_state']], 'uptime': answer['uptime'], 'health': answer['health']}
    memory = answer['memory_details']
    if memory['maximum'] is not None:
        flat['memory'] = memory['maximum'] * 1024
    if memory['used'] is not None:
        flat['memory-rss'] = memory['used'] * 1024
    for cpu in answer['cpu_details']:
        flat['cpu%d_time' % cpu['id']] = cpu['time']
    for disk in answer['disk_details']:
        for key, name in (('read', 'read_bytes'), ('read_req', 'read_requests'), ('write', 'write_bytes'),
                          ('write_req', 'write_requests'), ('errors', 'errors_count')):
            flat['%s_%s' % (disk['name'], key)] = disk[name]
    for nic in answer['nic_details']:
        for direction in ('rx', 'tx'):
            flat['%s_%s' % (nic['name'], direction)] = nic['%s_octets' % direction]
            for counter in ('packets', 'errors', 'drop'):
                flat['%s_%s_%s' % (nic['name'], direction, counter)] = nic['%s_%s' % (direction, counter)]
    exit = answer['last_exit']
    if exit:
        flat.update({'exit_code': exit['exit_code'], 'oom_killed': exit['oom_killed'], 'exit_error': exit['error'],
                     'finished_at': exit['finished_at'], 'last_output': '\n'.join(exit['last_lines'])})
    return flat


def block_stats(answer, disk_id):
    """[rd_req, rd_bytes, wr_req, wr_bytes, errs] of the named disk; None for a disk the instance does not have."""
    name = disk_id.rsplit('/', 1)[-1] if disk_id else disk_id
    for disk in answer['disk_details']:
        if disk['name'] == name:
            return [disk['read_requests'], disk['read_bytes'], disk['write_requests'], disk['write_bytes'], disk['errors_count']]
    return None
