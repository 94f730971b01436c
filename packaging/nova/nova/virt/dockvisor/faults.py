"""How a crashed instance's last run ended, recorded once as its instance fault (Nova's record of why it failed)."""
from oslo_log import log as logging

from nova import context as nova_context
from nova import objects
from nova.virt.dockvisor import conf

CONF = conf.CONF
LOG = logging.getLogger(__name__)

# InstanceFault.message is a 255-character column.
MESSAGE_LIMIT = 255


# The exits this process has recorded or found recorded: nova-compute's next looks ask nova's records no more.
_RECORDED = set()


def record_exit(instance, last_exit):
    """Adds the exit as the instance's latest fault unless that fault already is this exit (same end time)."""
    if not last_exit or (instance.uuid, last_exit['finished_at']) in _RECORDED:
        return
    marker = 'exited at %s' % last_exit['finished_at']
    context = nova_context.get_admin_context()
    try:
        latest = objects.InstanceFault.get_latest_for_instance(context, instance.uuid)
        if latest is not None and (latest.details or '').startswith(marker):
            _RECORDED.add((instance.uuid, last_exit['finished_at']))
            return
        message = _summary(last_exit)
        details = '\n'.join([marker, message, 'last output:'] + last_exit['last_lines'])
        fault = objects.InstanceFault(context=context, instance_uuid=instance.uuid, host=CONF.host, code=500,
                                      message=message[:MESSAGE_LIMIT], details=details)
        fault.create()
        _RECORDED.add((instance.uuid, last_exit['finished_at']))
    except Exception:
        # The power state is what nova-compute asked for; a fault that cannot be written now is tried at the next look.
        LOG.warning('could not record the exit of instance %s as its fault', instance.uuid, exc_info=True)


def _summary(last_exit):
    """As the OpenNebula side words a VM's ERROR: why it ended, then its last lines."""
    if last_exit['error']:
        why = 'could not start: %s' % last_exit['error']
    elif last_exit['oom_killed']:
        why = 'killed by the kernel for want of memory (out of memory)'
    else:
        why = 'exited by itself with code %d' % last_exit['exit_code']
    lines = ' | '.join(last_exit['last_lines'])
    return '%s; last output: %s' % (why, lines) if lines else why
