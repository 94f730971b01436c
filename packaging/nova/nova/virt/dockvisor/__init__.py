"""dockvisor: Docker containers as Nova instances, through the dockvisor compute service.

Loaded by nova-compute with ``compute_driver = dockvisor.DockvisorDriver``.
"""
from nova.virt.dockvisor import driver

DockvisorDriver = driver.DockvisorDriver
