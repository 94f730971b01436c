"""The ``[dockvisor]`` section of nova.conf."""
from oslo_config import cfg

import nova.conf

CONF = nova.conf.CONF

dockvisor_group = cfg.OptGroup('dockvisor', title='dockvisor compute service')

dockvisor_opts = [
    cfg.URIOpt('url', default='http://127.0.0.1:8775', schemes=['http', 'https'],
               help='Base URL of the dockvisor compute service (dockvisor compute serve).'),
    cfg.StrOpt('token', secret=True,
               help='Bearer token the service was started with (DOCKVISOR_COMPUTE_TOKEN or --token-file).'),
    cfg.IntOpt('timeout', default=180, min=1,
               help='Seconds to wait for one call to the service; a spawn may pull an image.'),
    cfg.StrOpt('host', regex=r'^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$',
               help='The dockvisor host this nova-compute manages, when the service manages several '
                    '(`dockvisor compute serve --host <name>`): `local` or a host from `dockvisor host create`. '
                    'Unset: the service\'s first host.'),
]

CONF.register_group(dockvisor_group)
CONF.register_opts(dockvisor_opts, group=dockvisor_group)
