"""Nova's network model VIFs as the service's VIF shape: what the host end plugs into and the leases inside."""
import netaddr

from nova.network import model as network_model

# The service plugs a veth into a Linux bridge, or into Open vSwitch as os-vif plugs libvirt's taps;
# other VIF types need a plugging it does not do.
SUPPORTED_TYPES = (network_model.VIF_TYPE_BRIDGE, network_model.VIF_TYPE_OVS)
# Nova's default integration bridge (neutron.ovs_bridge) when the port's binding names none.
DEFAULT_OVS_BRIDGE = 'br-int'


def service_vif(vif):
    if vif['type'] not in SUPPORTED_TYPES:
        raise NotImplementedError('VIF type %s is not supported by dockvisor (only %s)' % (vif['type'], ', '.join(SUPPORTED_TYPES)))
    network = vif['network']
    ips, dns, routes = [], [], []
    gateway = gateway6 = None
    for subnet in network['subnets']:
        prefix = netaddr.IPNetwork(subnet['cidr']).prefixlen
        for ip in subnet['ips']:
            ips.append({'address': str(ip['address']), 'prefix': prefix})
        address = subnet['gateway']['address'] if subnet['gateway'] else None
        if address and subnet['version'] == 4:
            gateway = gateway or str(address)
        elif address:
            gateway6 = gateway6 or str(address)
        # A Neutron subnet's host routes, as nova's network model carries them.
        for route in subnet.get('routes') or []:
            routes.append({'destination': str(route['cidr']), 'gateway': str(route['gateway']['address'])})
        for server in subnet['dns']:
            if str(server['address']) not in dns:
                dns.append(str(server['address']))
    body = {'id': vif['id'], 'address': vif['address'], 'bridge': network['bridge'], 'ips': ips, 'dns': dns[:8]}
    if vif['type'] == network_model.VIF_TYPE_OVS:
        body['type'] = vif['type']
        body['bridge'] = network['bridge'] or DEFAULT_OVS_BRIDGE
        if vif.get('ovs_interfaceid'):
            body['ovs_interfaceid'] = vif['ovs_interfaceid']
        hybrid = (vif.get('details') or {}).get(network_model.VIF_DETAILS_OVS_HYBRID_PLUG, False)
        body['details'] = {'ovs_hybrid_plug': bool(hybrid)}
    if vif.get('devname'):
        body['devname'] = vif['devname']
    mtu = network.get_meta('mtu')
    if mtu:
        body['mtu'] = int(mtu)
    if gateway:
        body['gateway'] = gateway
    if gateway6:
        body['gateway6'] = gateway6
    if routes:
        body['routes'] = routes[:64]
    return body


def service_network_info(network_info):
    return [service_vif(vif) for vif in (network_info or [])]


def pending_plug_events(network_info):
    """Neutron's network-vif-plugged events to wait for: one per VIF not yet active."""
    return [('network-vif-plugged', vif['id']) for vif in (network_info or []) if vif.get('active', True) is False]
