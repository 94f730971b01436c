#!/usr/bin/env bash
# Makes this machine ready to run dockvisor as a host and to run its tests:
# Debian packages, npm packages, a running Docker engine, the bundles, and the local base image.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

need_packages=()
command -v dockerd >/dev/null || need_packages+=(docker.io)
command -v ip >/dev/null || need_packages+=(iproute2)
command -v curl >/dev/null || need_packages+=(curl)
command -v ping >/dev/null || need_packages+=(iputils-ping)
command -v nsenter >/dev/null || need_packages+=(util-linux)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx sleep || need_packages+=(busybox-static)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need_packages+=(openssh-server)
# dockvisor host provision's tests run the sudoers step for real (visudo checks the rule).
command -v visudo >/dev/null || need_packages+=(sudo)
# What OpenNebula runs on a host: its monitoring client (Ruby, with sqlite3) and rsync for the remotes.
command -v ruby >/dev/null || need_packages+=(ruby)
ruby -e "require 'sqlite3'" >/dev/null 2>&1 || need_packages+=(ruby-sqlite3)
command -v rsync >/dev/null || need_packages+=(rsync)
# The Nova driver's tests drive real nova objects, and snapshots go to a local registry.
/usr/bin/python3 -c 'import nova.virt.driver' >/dev/null 2>&1 || need_packages+=(python3-nova)
[ -x /usr/bin/docker-registry ] || need_packages+=(docker-registry)
# VMs may ask for gVisor or crun (DOCKVISOR/RUNTIME="runsc"): the engine learns the runtimes from daemon.json.
command -v runsc >/dev/null || need_packages+=(runsc)
command -v crun >/dev/null || need_packages+=(crun)
# The package's tests check it with lintian and install it on a clean Debian root made by debootstrap.
command -v lintian >/dev/null || need_packages+=(lintian)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || need_packages+=(debootstrap)
# Open vSwitch NICs: the switch itself, and ethtool for the checksum offload its userspace datapath needs off.
command -v ovs-vsctl >/dev/null || need_packages+=(openvswitch-switch)
command -v ethtool >/dev/null || [ -x /usr/sbin/ethtool ] || need_packages+=(ethtool)
if [ ${#need_packages[@]} -gt 0 ]; then
  log "installing ${need_packages[*]}"
  as_root apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${need_packages[@]}" >/dev/null
fi

# The Nova tests upload snapshots into a real Glance: each starts its own glance-api on loopback. The package's own
# daemon is not needed, so it is kept from starting (policy-rc.d) unless this machine already has a policy.
if [ ! -x /usr/bin/glance-api ]; then
  log "installing glance-api (its daemon is not started)"
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# dockvisor setup: no daemon starts while glance-api is installed\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    own_policy=1
  fi
  as_root apt-get update -q >/dev/null
  installed=0
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends glance-api >/dev/null || installed=$?
  if [ -n "$own_policy" ]; then as_root rm -f "$policy"; fi
  [ "$installed" = 0 ] || exit "$installed"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# dockvisor's own Node.js runtime (pinned in drivers/runtime/runtime.json), where its package and provisioning put it:
# the launchers, the tests, the demo and the benchmarks run on it, whatever node this machine has.
as_root "$(command -v node)" --import tsx scripts/install-runtime.ts /usr/lib/dockvisor/node
export PATH="/usr/lib/dockvisor/node/bin:$PATH"

engine_socket=/var/run/docker.sock
engine_up() { curl -fsS --max-time 2 --unix-socket "$engine_socket" http://engine/_ping >/dev/null 2>&1; }
# crun refuses a hybrid cgroup layout whose v2 side holds controllers ("drop all controllers from cgroupv2"). systemd's
# own hybrid layout has every controller on v1; where one is left on the v2 side (hugetlb on some kernels' boots), it
# is mounted as a v1 hierarchy too, as systemd would have done.
if [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] && [ -r /sys/fs/cgroup/unified/cgroup.controllers ]; then
  for controller in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    log "mounting the $controller cgroup controller on v1, beside the others"
    as_root mkdir -p "/sys/fs/cgroup/$controller"
    as_root mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller"
  done
fi
runtimes_changed=$(as_root node scripts/engine-runtimes.mjs /etc/docker/daemon.json "runsc=$(command -v runsc)" "crun=$(command -v crun)")
if [ -n "$runtimes_changed" ] && engine_up; then
  log "telling the running dockerd about runsc and crun"
  as_root kill -HUP "$(pidof dockerd)"
  for _ in $(seq 1 20); do curl -fsS --unix-socket "$engine_socket" http://engine/info | grep -q '"crun"' && break; sleep 0.25; done
fi
if ! engine_up; then
  log "starting dockerd"
  as_root mkdir -p /var/log
  # In a session of its own, so that the engine outlives the command (and the process group) that started it.
  as_root setsid -f sh -c 'exec dockerd >/var/log/dockerd.log 2>&1 </dev/null'
  for _ in $(seq 1 60); do engine_up && break; sleep 0.5; done
  engine_up || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
fi

ovs_up() { as_root ovs-vsctl --timeout=2 show >/dev/null 2>&1; }
if ! ovs_up; then
  log "starting Open vSwitch"
  # Detached like dockerd: the switch outlives the command that started it. Without the kernel's openvswitch
  # module, bridges use the userspace datapath (datapath_type=netdev).
  as_root setsid -f sh -c 'exec /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/var/log/ovs-ctl.log 2>&1 </dev/null'
  for _ in $(seq 1 60); do ovs_up && break; sleep 0.5; done
  ovs_up || { log "Open vSwitch did not start; see /var/log/ovs-ctl.log and /var/log/openvswitch/"; exit 1; }
fi

base_image=dockvisor/busybox:latest
if ! curl -fsS --unix-socket "$engine_socket" "http://engine/images/${base_image}/json" >/dev/null 2>&1; then
  log "building the local base image $base_image from busybox-static"
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/tmp,run}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list-full); do
    [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -cf - . | curl -fsS --unix-socket "$engine_socket" -X POST \
    -H 'Content-Type: application/x-tar' --data-binary @- \
    "http://engine/images/create?fromSrc=-&repo=dockvisor/busybox&tag=latest&changes=CMD%20%5B%22%2Fbin%2Fsh%22%5D" >/dev/null
fi
# The image datastore of the demo, the tests and the benchmarks: a registry on loopback that allows deletes.
registry_address=127.0.0.1:5400
registry_dir=/var/lib/dockvisor/registry
registry_up() { curl -fsS --max-time 2 "http://$registry_address/v2/" >/dev/null 2>&1; }
if ! registry_up; then
  log "starting the datastore registry on $registry_address"
  as_root mkdir -p "$registry_dir/storage"
  as_root tee "$registry_dir/config.yml" >/dev/null <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $registry_dir/storage
  delete:
    enabled: true
http:
  addr: $registry_address
YAML
  as_root setsid -f sh -c "exec /usr/bin/docker-registry serve '$registry_dir/config.yml' >/var/log/dockvisor-registry.log 2>&1 </dev/null"
  for _ in $(seq 1 40); do registry_up && break; sleep 0.25; done
  registry_up || { log "the registry did not start; see /var/log/dockvisor-registry.log"; exit 1; }
fi

log "building bundles"
node scripts/build.mjs

log "ready"
