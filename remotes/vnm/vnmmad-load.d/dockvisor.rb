# A dockvisor VM's NIC for OpenNebula's network drivers (loaded by vnmmad.rb from vnmmad-load.d).
#
# Without it a NIC of a VM whose VM_MAD is dockvisor is taken for a KVM one: its host interface is
# looked up with virsh, is not found, and the security-group chains cannot be made (the post of the
# fw, 802.1Q and vxlan drivers fails). dockvisor names the host end of a NIC's veth after NIC/TARGET,
# as libvirt names a KVM VM's tap, so that is the interface the chains match.
module VNMMAD

    module VNMNetwork

        # The NIC of a dockvisor VM: its host interface is NIC/TARGET
        class NicDockvisor < Nic

            VNMNetwork::HYPERVISORS['dockvisor'] = self

            def get_info(_vm)
                nil
            end

            def get_tap(_vm)
                self[:tap] = self[:target]

                self
            end

            def set_qos(_deploy_id)
                nil
            end

        end

    end

end
