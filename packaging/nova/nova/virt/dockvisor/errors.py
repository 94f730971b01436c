"""The compute service's error answers as the exceptions nova-compute acts on: one table, verb by verb.

The service answers `{error: <kind>, message}` (drivers/nova/service/error-answers.ts); `unreachable` is the
service itself not answering. A verb's row says what differs from DEFAULT for it.
"""
import collections

from oslo_log import log as logging

from nova import exception

LOG = logging.getLogger(__name__)

Failure = collections.namedtuple('Failure', 'verb kind message uuid host')

KINDS_BY_STATUS = {400: 'invalid_input', 401: 'unauthorized', 404: 'not_found', 409: 'conflict', 413: 'too_large',
                   501: 'not_supported', 503: 'unavailable'}


def _invalid_input(failure):
    return exception.InvalidInput(reason=failure.message)


def _instance_not_found(failure):
    return exception.InstanceNotFound(instance_id=failure.uuid)


def _invalid_state(failure):
    return exception.InstanceInvalidState(instance_uuid=failure.uuid, attr='state', state=failure.message, method=failure.verb)


def _not_supported(failure):
    return NotImplementedError(failure.message)


def _hypervisor_unavailable(failure):
    return exception.HypervisorUnavailable(host=failure.message)


def _failed(failure):
    return exception.NovaException('dockvisor compute service, %s: %s' % (failure.verb, failure.message))


def _host_not_found(failure):
    return exception.ComputeHostNotFound(host=failure.host or failure.message)


def _because(exception_class):
    return lambda failure: exception_class(reason=failure.message)


def _rolled_back(inner):
    # nova-compute puts the instance back as it was (its vm_state, its flavor) and reraises the inner exception.
    return lambda failure: exception.InstanceFaultRollback(inner_exception=inner(reason=failure.message))


def _every_kind(make):
    return {kind: make for kind in DEFAULT}


DEFAULT = {
    'invalid_input': _invalid_input,
    'too_large': _invalid_input,
    'not_found': _instance_not_found,
    'conflict': _invalid_state,
    'not_supported': _not_supported,
    'unavailable': _hypervisor_unavailable,
    'unreachable': _hypervisor_unavailable,
    'unauthorized': _failed,
    'internal': _failed,
}

# The host's verbs name no instance, only [dockvisor] host: the service answers 400 for a host it does not manage.
_HOST = {'not_found': _host_not_found, 'invalid_input': _host_not_found}

VERBS = {
    'init_host': _HOST,
    'get_available_nodes': _HOST,
    'get_available_resource': _HOST,
    'update_provider_tree': _HOST,
    'get_host_uptime': _HOST,
    'list_instance_uuids': _HOST,
    'list_instances': _HOST,
    'get_host_cpu_stats': _HOST,
    'get_info': {},
    'spawn': {'conflict': lambda failure: exception.InstanceExists(name=failure.uuid)},
    'destroy': {},
    'reboot': {'internal': _because(exception.InstanceRebootFailure)},
    'power_off': {'internal': _because(exception.InstancePowerOffFailure)},
    'power_on': {'internal': _because(exception.InstancePowerOnFailure)},
    'pause': {},
    'unpause': {},
    'suspend': {'internal': _because(exception.InstanceSuspendFailure)},
    'resume': {'internal': _because(exception.InstanceResumeFailure)},
    # nova-compute reads InstanceNotRunning as "the instance went away": it deletes the image nova pre-created.
    'snapshot': {'not_found': lambda failure: exception.InstanceNotRunning(instance_id=failure.uuid)},
    # Any NovaException makes nova-compute free the Neutron port; NotImplementedError would leave it bound.
    'attach_interface': _every_kind(lambda failure: exception.InterfaceAttachFailed(instance_uuid=failure.uuid)),
    # An instance gone is logged quietly by nova-compute; an interface already gone is no error for the service.
    'detach_interface': dict(_every_kind(lambda failure: exception.InterfaceDetachFailed(instance_uuid=failure.uuid)),
                             not_found=_instance_not_found),
    # Refused before anything was stopped or saved: nova-compute rolls the resize back and the instance stays as it was.
    'migrate_disk_and_power_off': {'invalid_input': _rolled_back(exception.ResizeError),
                                   'too_large': _rolled_back(exception.ResizeError),
                                   'conflict': _rolled_back(exception.ResizeError),
                                   'not_supported': _rolled_back(exception.MigrationPreCheckError),
                                   'internal': _because(exception.ResizeError)},
    'finish_migration': {'invalid_input': _because(exception.ResizeError), 'conflict': _because(exception.ResizeError),
                         'internal': _because(exception.ResizeError)},
    'confirm_migration': {},
    'finish_revert_migration': {},
    'get_console_output': {},
    'get_diagnostics': {},
    'get_instance_diagnostics': {},
    'block_stats': {},
}


def nova_error(verb, kind, message, uuid=None, host=None):
    """The exception nova-compute is to see when `verb` failed with the service's `kind` of answer."""
    failure = Failure(verb, kind if kind in DEFAULT else 'internal', message, uuid, host)
    make = VERBS[verb].get(failure.kind) or DEFAULT[failure.kind]
    error = make(failure)
    if not isinstance(error, NotImplementedError) and str(failure.message) not in str(error):
        LOG.warning('dockvisor compute service, %s: %s', verb, failure.message)
    return error


def kind_of(status, answer):
    """The kind of an error answer: its `error` code, else what its status means."""
    code = answer.get('error') if isinstance(answer, dict) else None
    return code or KINDS_BY_STATUS.get(status, 'internal')
