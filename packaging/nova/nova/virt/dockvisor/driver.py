"""A thin Nova ComputeDriver: every verb is one call to the dockvisor compute service, which runs the containers."""
import base64
import http.client
import json
import os
import re
import shlex
import tempfile
import urllib.parse

import glanceclient.exc
from oslo_log import log as logging
import requests
import urllib3

from nova.compute import power_state
from nova.compute import task_states
from nova import context as nova_context
from nova import exception
from nova.image import glance
from nova import objects
from nova.virt import driver
from nova.virt import hardware
from nova.virt.dockvisor import client as service_client
from nova.virt.dockvisor import conf
from nova.virt.dockvisor import diagnostics
from nova.virt.dockvisor import errors
from nova.virt.dockvisor import faults
from nova.virt.dockvisor import vifs

CONF = conf.CONF
LOG = logging.getLogger(__name__)

# The Glance image property a snapshot records its Docker reference in (with a registry), and spawn reads first.
DOCKER_IMAGE_PROPERTY = 'docker_image'
# The image id a snapshot's `docker save` data holds: spawn has the service check the loaded image against it.
DOCKER_IMAGE_ID_PROPERTY = 'docker_image_id'
RUNTIME_EXTRA_SPEC = 'dockvisor:runtime'
RUNTIME_IMAGE_PROPERTY = 'dockvisor_runtime'
MAX_SHUTDOWN_SECONDS = 3600
ARCHIVE_BLOCK = 1024 * 1024
GLANCE_CONNECTION_ERRORS = (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, requests.exceptions.RequestException,
                            glanceclient.exc.CommunicationError)
# The names the service keeps; another instance_name_template's are looked up in nova's records instead.
INSTANCE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$')


class DockvisorDriver(driver.ComputeDriver):
    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=False,
        supports_evacuate=False,
        supports_migrate_to_same_host=False,
        supports_attach_interface=True,
        supports_multiattach=False,
        supports_image_type_raw=True,
        supports_image_type_qcow2=False,
    )

    def __init__(self, virtapi, read_only=False):
        super(DockvisorDriver, self).__init__(virtapi)
        self._service = service_client.ServiceClient(CONF.dockvisor.url, CONF.dockvisor.token, CONF.dockvisor.timeout,
                                                      CONF.dockvisor.host)
        self._image_api = glance.API()
        self._nodename = None

    def _host_query(self, path):
        """A per-host question about this node: the configured host, else the service's first."""
        return '%s?host=%s' % (path, CONF.dockvisor.host) if CONF.dockvisor.host else path

    def _path(self, instance, action=''):
        return '/v1/instances/%s%s' % (instance.uuid, action)

    def _instance_call(self, verb, instance, action, body=None):
        return self._service.post(verb, self._path(instance, action), body, instance_uuid=instance.uuid)

    # The host

    def init_host(self, host):
        self._service.get('init_host', self._host_query('/v1/host/uptime'))

    def get_available_nodes(self, refresh=False):
        if refresh or not self._nodename:
            self._nodename = self._service.get('get_available_nodes', self._host_query('/v1/host/resources'))['hypervisor_hostname']
        return [self._nodename]

    def get_available_resource(self, nodename):
        resources = self._service.get('get_available_resource', self._host_query('/v1/host/resources'))
        resources['supported_instances'] = [tuple(item) for item in resources['supported_instances']]
        return resources

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        inventory = self._service.get('update_provider_tree', self._host_query('/v1/host/inventory'))
        ratios = self._get_allocation_ratios(inventory)
        reserved = {
            'VCPU': CONF.reserved_host_cpus,
            'MEMORY_MB': CONF.reserved_host_memory_mb,
            'DISK_GB': self._get_reserved_host_disk_gb_from_config(),
        }
        for resource_class, item in inventory.items():
            item['allocation_ratio'] = ratios[resource_class]
            item['reserved'] = reserved[resource_class]
        provider_tree.update_inventory(nodename, inventory)

    def get_host_uptime(self):
        return self._service.get('get_host_uptime', self._host_query('/v1/host/uptime'))['uptime']

    def get_host_ip_addr(self):
        return CONF.my_ip

    def get_host_cpu_stats(self):
        return self._service.get('get_host_cpu_stats', self._host_query('/v1/host/cpu-stats'))

    # Instances

    def list_instance_uuids(self):
        # Only this node's instances: Nova treats an instance it finds here but not in its records as foreign.
        return self._service.get('list_instance_uuids', self._host_query('/v1/instances'))['uuids']

    def list_instances(self):
        answer = self._service.get('list_instances', self._host_query('/v1/instances'))
        names = answer.get('names') or {}
        unnamed = [uuid for uuid in answer['uuids'] if uuid not in names]
        return [names[uuid] for uuid in answer['uuids'] if uuid in names] + _recorded_names(unnamed)

    def get_info(self, instance, use_cache=True):
        answer = self._service.get('get_info', self._path(instance), instance_uuid=instance.uuid)
        if answer['power_state'] == power_state.CRASHED:
            self._record_exit(instance)
        return hardware.InstanceInfo(state=answer['power_state'])

    def _record_exit(self, instance):
        # get_info answers nova's power-state sync whatever happens here; a fault not written is tried at the next look.
        try:
            faults.record_exit(instance, self._diagnostics('get_info', instance).get('last_exit'))
        except Exception:
            LOG.warning('could not read the exit of crashed instance %s', instance.uuid, exc_info=True)

    def spawn(self, context, instance, image_meta, injected_files, admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        if driver.block_device_info_get_mapping(block_device_info):
            raise NotImplementedError('dockvisor does not attach volumes')
        body = dict(self._instance_body(context, instance, image_meta, injected_files, network_info),
                    uuid=instance.uuid, power_on=bool(power_on))
        if CONF.dockvisor.host:
            body['host'] = CONF.dockvisor.host
        self._plugging(instance, network_info, lambda: self._service.post('spawn', '/v1/instances', body, instance_uuid=instance.uuid))

    def rebuild(self, context, instance, image_meta, injected_files, admin_password, allocations, bdms, detach_block_devices,
                attach_block_devices, network_info=None, evacuate=False, block_device_info=None, preserve_ephemeral=False,
                accel_uuids=None, reimage_boot_volume=False):
        # Nova's fallback, destroy then spawn, would unplug the VIFs and drop the container between two calls; the
        # service remakes the container in place instead, and checks the new image and files before it touches it.
        if evacuate:
            # nova-compute refuses evacuate itself (capabilities: supports_evacuate False); this says it once more.
            raise exception.InstanceEvacuateNotSupported()
        if reimage_boot_volume or driver.block_device_info_get_mapping(block_device_info):
            raise exception.NovaException('dockvisor does not attach volumes, so it has no volume-backed instance to rebuild')
        body = dict(self._instance_body(context, instance, image_meta, injected_files, network_info),
                    preserve_ephemeral=bool(preserve_ephemeral))
        instance.task_state = task_states.REBUILD_SPAWNING
        instance.save(expected_task_state=[task_states.REBUILDING])
        self._plugging(instance, network_info, lambda: self._instance_call('rebuild', instance, '/rebuild', body))

    def _instance_body(self, context, instance, image_meta, injected_files, network_info):
        """What the instance is made of, as spawn and rebuild send it: image, flavor, metadata, files, VIFs, command."""
        glance_image = self._glance_image(context, image_meta)
        body = {
            'name': instance.display_name or instance.uuid,
            'image': self._image_reference(context, instance, image_meta, glance_image),
            'flavor': {'vcpus': instance.flavor.vcpus, 'memory_mb': instance.flavor.memory_mb, 'root_gb': instance.flavor.root_gb},
            'metadata': dict(instance.metadata or {}),
            'injected_files': [_injected_file(path, contents) for path, contents in (injected_files or [])],
            'network_info': vifs.service_network_info(network_info),
        }
        if instance.hostname:
            body['hostname'] = instance.hostname
        # Only an instance nova has recorded has an id, which the default instance_name_template needs.
        if instance.obj_attr_is_set('id') and INSTANCE_NAME.match(instance.name or ''):
            body['instance_name'] = instance.name
        properties = image_meta.properties if image_meta.obj_attr_is_set('properties') else None
        command = properties.get('os_command_line') if properties else None
        if command:
            body['command'] = shlex.split(command)
        runtime = _runtime(instance, glance_image.get('properties') or {})
        if runtime:
            body['runtime'] = runtime
        return body

    def _plugging(self, instance, network_info, call):
        """Runs `call`, which plugs the VIFs, waiting for Neutron's events of those not yet active."""
        events = vifs.pending_plug_events(network_info)
        if events and CONF.vif_plugging_timeout:
            with self.virtapi.wait_for_instance_event(instance, events, deadline=CONF.vif_plugging_timeout,
                                                      error_callback=self._vif_plugging_failed):
                call()
        else:
            call()

    def _vif_plugging_failed(self, event_name, instance):
        LOG.error('Neutron reported failure on event %s', event_name, instance=instance)
        if CONF.vif_plugging_is_fatal:
            raise exception.VirtualInterfaceCreateException()

    def _image_reference(self, context, instance, image_meta, glance_image):
        """What spawn boots: the image's docker_image property (a registry reference), else its `docker save` data
        in Glance loaded on the host, else its name as a Docker reference (as nova-docker did)."""
        if image_meta.obj_attr_is_set('container_format') and image_meta.container_format not in ('docker', 'bare'):
            raise exception.InvalidInput(reason='image %s is not a Docker image (container_format %s)' % (image_meta.id, image_meta.container_format))
        properties = glance_image.get('properties') or {}
        if properties.get(DOCKER_IMAGE_PROPERTY):
            return properties[DOCKER_IMAGE_PROPERTY]
        if glance_image.get('container_format') == 'docker' and glance_image.get('size'):
            return self._load_glance_image(context, instance, image_meta.id, properties.get(DOCKER_IMAGE_ID_PROPERTY))
        return image_meta.name

    def _load_glance_image(self, context, instance, image_id, expected_id):
        """Fetches the image's data from Glance into a temporary file, as libvirt fetches a disk image, then streams it
        to the service, which loads it on this node's host."""
        query = [('host', CONF.dockvisor.host)] if CONF.dockvisor.host else []
        if expected_id:
            query.append(('image_id', expected_id))
        with tempfile.TemporaryFile(dir=CONF.instances_path if os.path.isdir(CONF.instances_path) else None) as data:
            self._image_api.download(context, image_id, data=data)
            data.seek(0)
            blocks = iter(lambda: data.read(ARCHIVE_BLOCK), b'')
            return self._service.post_archive('spawn', '/v1/images?' + urllib.parse.urlencode(query), blocks, instance_uuid=instance.uuid)['image']

    def _glance_image(self, context, image_meta):
        """The image as Glance has it, with its own properties (nova's ImageMetaProps leaves custom ones out)."""
        if image_meta.obj_attr_is_set('id') and image_meta.id:
            return self._image_api.get(context, image_meta.id)
        return {}

    def destroy(self, context, instance, network_info, block_device_info=None, destroy_disks=True, destroy_secrets=True):
        self._service.delete('destroy', self._path(instance), instance_uuid=instance.uuid)

    def cleanup(self, context, instance, network_info, block_device_info=None, destroy_disks=True, migrate_data=None,
                destroy_vifs=True, destroy_secrets=True):
        # destroy removed the container with its interfaces; nothing else is kept for an instance.
        pass

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None, bad_volumes_callback=None,
               accel_info=None):
        self._instance_call('reboot', instance, '/reboot', {'type': reboot_type, 'network_info': vifs.service_network_info(network_info)})

    def power_off(self, instance, timeout=0, retry_interval=0):
        # The service bounds a graceful stop to an hour; Nova's shutdown_timeout may be set higher.
        self._instance_call('power_off', instance, '/power-off', {'timeout': min(max(int(timeout), 0), MAX_SHUTDOWN_SECONDS)})

    def power_on(self, context, instance, network_info, block_device_info=None, accel_info=None):
        self._instance_call('power_on', instance, '/power-on', {'network_info': vifs.service_network_info(network_info)})

    def pause(self, instance):
        self._instance_call('pause', instance, '/pause')

    def unpause(self, instance):
        self._instance_call('unpause', instance, '/unpause')

    def suspend(self, context, instance):
        self._instance_call('suspend', instance, '/suspend')

    def resume(self, context, instance, network_info, block_device_info=None):
        self._instance_call('resume', instance, '/resume', {'network_info': vifs.service_network_info(network_info)})

    def snapshot(self, context, instance, image_id, update_task_state):
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        # The service commits the container (and pushes it when it has a registry), then streams `docker save`.
        archive = self._service.open_archive('snapshot', self._path(instance, '/snapshot/archive'), {'image_id': image_id},
                                             instance_uuid=instance.uuid)
        with archive:
            update_task_state(task_state=task_states.IMAGE_UPLOADING, expected_state=task_states.IMAGE_PENDING_UPLOAD)
            properties = {DOCKER_IMAGE_ID_PROPERTY: archive.headers['x-dockvisor-image-id']}
            pinned = archive.headers.get('x-dockvisor-docker-image')
            if pinned:
                properties[DOCKER_IMAGE_PROPERTY] = pinned
            metadata = {'container_format': 'docker', 'disk_format': 'raw', 'properties': properties}
            data = _Archive(archive, instance.uuid)
            try:
                image = self._image_api.update(context, image_id, metadata, data=data, purge_props=False)
            except exception.NovaException:
                raise
            except GLANCE_CONNECTION_ERRORS as error:
                # nova's glance API raises this for a Glance it cannot reach, except when the failure comes in a
                # retry of the upload (its retries re-send a stream that is partly read): the same for both.
                raise exception.GlanceConnectionFailed(server=','.join(CONF.glance.api_servers or ['glance']), reason=repr(error))
        # A retried upload sends only the rest of the stream: Glance must hold every byte the service sent.
        if image.get('size') != data.size:
            raise exception.ImageUnacceptable(image_id=image_id, reason='Glance holds %s bytes of the %d uploaded' % (image.get('size'), data.size))
        return pinned

    # Resize and cold migration: the filesystem travels through the service's registry; nothing is live.

    def migrate_disk_and_power_off(self, context, instance, dest, flavor, network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        if driver.block_device_info_get_mapping(block_device_info):
            raise exception.InstanceFaultRollback(exception.MigrationPreCheckError(reason='dockvisor does not attach volumes'))
        # The service waits out the graceful stop itself; retry_interval has nothing to signal again.
        body = {'dest': dest, 'flavor': _flavor(flavor), 'timeout': min(max(int(timeout), 0), MAX_SHUTDOWN_SECONDS)}
        answer = self._instance_call('migrate_disk_and_power_off', instance, '/migration', body)
        return json.dumps(answer['disk_info'])

    def finish_migration(self, context, migration, instance, disk_info, network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True):
        if driver.block_device_info_get_mapping(block_device_info):
            raise exception.ResizeError(reason='dockvisor does not attach volumes')
        body = {
            'disk_info': json.loads(disk_info) if isinstance(disk_info, str) else disk_info,
            'name': instance.display_name or instance.uuid,
            'flavor': _flavor(instance.flavor),
            'metadata': dict(instance.metadata or {}),
            'network_info': vifs.service_network_info(network_info),
            'power_on': bool(power_on),
        }
        if instance.hostname:
            body['hostname'] = instance.hostname
        if instance.obj_attr_is_set('id') and INSTANCE_NAME.match(instance.name or ''):
            body['instance_name'] = instance.name
        if CONF.dockvisor.host:
            body['host'] = CONF.dockvisor.host
        # The runtime as spawn chose it: the new flavor's extra spec, else the image's property (an image deleted
        # since the spawn has none: the instance moves on without it rather than fail half moved).
        try:
            glance_image = self._glance_image(context, image_meta)
        except (exception.ImageNotFound, exception.ImageNotAuthorized):
            glance_image = {}
        runtime = _runtime(instance, glance_image.get('properties') or {})
        if runtime:
            body['runtime'] = runtime
        events = vifs.pending_plug_events(network_info) if power_on else []
        if events and CONF.vif_plugging_timeout:
            with self.virtapi.wait_for_instance_event(instance, events, deadline=CONF.vif_plugging_timeout,
                                                      error_callback=self._vif_plugging_failed):
                self._instance_call('finish_migration', instance, '/migration/finish', body)
        else:
            self._instance_call('finish_migration', instance, '/migration/finish', body)

    def confirm_migration(self, context, migration, instance, network_info):
        self._instance_call('confirm_migration', instance, '/migration/confirm')

    def finish_revert_migration(self, context, instance, network_info, migration, block_device_info=None,
                                power_on=True):
        self._instance_call('finish_revert_migration', instance, '/migration/revert',
                            {'network_info': vifs.service_network_info(network_info), 'power_on': bool(power_on)})

    def attach_interface(self, context, instance, image_meta, vif):
        try:
            body = {'vif': vifs.service_vif(vif)}
        except NotImplementedError as error:
            raise errors.nova_error('attach_interface', 'not_supported', str(error), instance.uuid)
        self._instance_call('attach_interface', instance, '/interfaces', body)

    def detach_interface(self, context, instance, vif):
        self._service.delete('detach_interface', self._path(instance, '/interfaces/%s' % vif['id']), instance_uuid=instance.uuid)

    def get_console_output(self, context, instance):
        return self._service.get('get_console_output', self._path(instance, '/console'), instance_uuid=instance.uuid)['output']

    def get_serial_console(self, context, instance):
        # A container has no serial port, and the service carries no console over a TCP port.
        raise exception.ConsoleTypeUnavailable(console_type='serial')

    def _diagnostics(self, verb, instance):
        return self._service.get(verb, self._path(instance, '/diagnostics'), instance_uuid=instance.uuid)

    def get_diagnostics(self, instance):
        return diagnostics.legacy_diagnostics(self._diagnostics('get_diagnostics', instance))

    def get_instance_diagnostics(self, instance):
        return diagnostics.instance_diagnostics(self._diagnostics('get_instance_diagnostics', instance))

    def block_stats(self, instance, disk_id):
        return diagnostics.block_stats(self._diagnostics('block_stats', instance), disk_id)

    def resume_state_on_host_boot(self, context, instance, network_info, block_device_info=None):
        # Nova's record is how the instance was before the host went down: only a running one is started again.
        if instance.power_state == power_state.RUNNING:
            self.power_on(context, instance, network_info, block_device_info)


class _Archive(object):
    """The service's `docker save` stream as Glance's client reads it; a cut stream is the service's failure."""

    def __init__(self, response, uuid):
        self._response = response
        self._uuid = uuid
        self.size = 0

    def read(self, size=-1):
        # Glance's client asks for 64 KiB at a time; 1 MiB blocks make fewer, larger chunks for Glance to take in.
        try:
            block = self._response.read() if size is None or size < 0 else self._response.read(max(size, ARCHIVE_BLOCK))
            self.size += len(block)
            return block
        except (OSError, http.client.HTTPException) as error:
            raise errors.nova_error('snapshot', 'internal', 'the snapshot stream broke off: %r' % error, self._uuid)


def _recorded_names(uuids):
    """Nova's names of instances spawned before the service kept them, from nova's records (via the conductor)."""
    if not uuids:
        return []
    instances = objects.InstanceList.get_by_filters(nova_context.get_admin_context(), {'uuid': uuids}, expected_attrs=[])
    return [instance.name for instance in instances]


def _injected_file(path, contents):
    if isinstance(contents, str):
        contents = contents.encode('utf-8')
    return {'path': path, 'contents': base64.b64encode(contents).decode('ascii')}


def _flavor(flavor):
    return {'vcpus': flavor.vcpus, 'memory_mb': flavor.memory_mb, 'root_gb': flavor.root_gb}


def _runtime(instance, glance_properties):
    """The OCI runtime asked for: the flavor's dockvisor:runtime extra spec, else the image's dockvisor_runtime property."""
    flavor = instance.flavor if instance.obj_attr_is_set('flavor') else None
    extra_specs = (flavor.extra_specs if flavor else None) or {}
    return extra_specs.get(RUNTIME_EXTRA_SPEC) or glance_properties.get(RUNTIME_IMAGE_PROPERTY)
