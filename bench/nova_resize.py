"""The nova part's resize: the dockvisor Nova driver as nova-compute calls it, against a running compute service.

Environment: DVB_SHIM_PATH (the installed driver's directory), DVB_URL, DVB_TOKEN, DVB_UUID, DVB_IMAGE, DVB_COMMAND.
Reads one command a line on stdin and answers each with one JSON line on stdout ({"error": traceback} when it raised):
`spawn` the instance (1 vcpu, 64 MB, no VIF); `resize` it on its own host to the other of two flavors, timing
migrate_disk_and_power_off + finish_migration (`resize_ms`, what nova-compute waits for until VERIFY_RESIZE) and
confirm_migration (`confirm_ms`) apart; `destroy` it. The process lives across commands: importing nova takes seconds.
"""
import contextlib
import json
import os
import sys
import tempfile
import time
import traceback

import nova.virt

nova.virt.__path__.append(os.environ['DVB_SHIM_PATH'])

from nova import context as nova_context  # noqa: E402
from nova.network import model as network_model  # noqa: E402
from nova import objects  # noqa: E402
from nova.virt import driver as virt_driver  # noqa: E402

objects.register_all()
import nova.conf  # noqa: E402

CONF = nova.conf.CONF


class VirtAPI(object):
    @contextlib.contextmanager
    def wait_for_instance_event(self, instance, event_names, deadline=300, error_callback=None):
        raise AssertionError('the bench instance has no VIF: no event to wait for')


class Bench(object):
    def __init__(self):
        with tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False) as conf_file:
            conf_file.write('[DEFAULT]\ncompute_driver = dockvisor.DockvisorDriver\n'
                            '[dockvisor]\nurl = %s\ntoken = %s\ntimeout = 300\n' % (os.environ['DVB_URL'], os.environ['DVB_TOKEN']))
        CONF(['--config-file', conf_file.name], project='nova', default_config_files=[])
        os.unlink(conf_file.name)
        self.drv = virt_driver.load_compute_driver(VirtAPI())
        self.ctx = nova_context.get_admin_context()
        self.flavors = [objects.Flavor(name='bench.small', vcpus=1, memory_mb=64, root_gb=1, ephemeral_gb=0, swap=0, extra_specs={}),
                        objects.Flavor(name='bench.large', vcpus=2, memory_mb=128, root_gb=1, ephemeral_gb=0, swap=0, extra_specs={})]
        self.instance = objects.Instance(uuid=os.environ['DVB_UUID'], display_name='bench resize', hostname='bench-resize',
                                         flavor=self.flavors[0], metadata={}, system_metadata={})
        self.image_meta = objects.ImageMeta.from_dict({'name': os.environ['DVB_IMAGE'], 'container_format': 'docker', 'disk_format': 'raw',
                                                       'properties': {'os_command_line': os.environ['DVB_COMMAND']}})
        self.network_info = network_model.NetworkInfo([])

    def spawn(self):
        self.drv.spawn(self.ctx, self.instance, self.image_meta, [], None, {}, self.network_info)
        return {}

    def resize(self):
        new = self.flavors[1] if self.instance.flavor.vcpus == 1 else self.flavors[0]
        started = time.perf_counter()
        # Nova's clean_shutdown=False: no grace period, as the baseline's stop.
        disk_info = self.drv.migrate_disk_and_power_off(self.ctx, self.instance, CONF.my_ip, new, self.network_info, None, 0, 0)
        self.instance.old_flavor, self.instance.flavor = self.instance.flavor, new
        self.drv.finish_migration(self.ctx, objects.Migration(), self.instance, disk_info, self.network_info, self.image_meta, True, {},
                                  None, True)
        resized = time.perf_counter()
        self.drv.confirm_migration(self.ctx, objects.Migration(), self.instance, self.network_info)
        confirmed = time.perf_counter()
        return {'resize_ms': (resized - started) * 1000, 'confirm_ms': (confirmed - resized) * 1000}

    def destroy(self):
        self.drv.destroy(self.ctx, self.instance, self.network_info)
        return {}


def main():
    answers = sys.stdout
    sys.stdout = sys.stderr
    bench = None
    for line in sys.stdin:
        command = line.strip()
        try:
            if command not in ('spawn', 'resize', 'destroy'):
                raise KeyError('no command %r' % command)
            bench = bench or Bench()
            answer = {'seen': getattr(bench, command)()}
        except Exception:
            answer = {'error': traceback.format_exc()}
        answers.write(json.dumps(answer) + '\n')
        answers.flush()


if __name__ == '__main__':
    main()
