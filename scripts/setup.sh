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
# The Nova driver's tests drive real nova objects, and snapshots go to a local registry.
/usr/bin/python3 -c 'import nova.virt.driver' >/dev/null 2>&1 || need_packages+=(python3-nova)
[ -x /usr/bin/docker-registry ] || need_packages+=(docker-registry)
# The installer's tests copy the remotes as oned copies them to hosts (rsync, links followed).
command -v rsync >/dev/null || need_packages+=(rsync)
if [ ${#need_packages[@]} -gt 0 ]; then
  log "installing ${need_packages[*]}"
  as_root apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${need_packages[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

engine_socket=/var/run/docker.sock
engine_up() { curl -fsS --max-time 2 --unix-socket "$engine_socket" http://engine/_ping >/dev/null 2>&1; }
if ! engine_up; then
  log "starting dockerd"
  as_root mkdir -p /var/log
  as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do engine_up && break; sleep 0.5; done
  engine_up || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
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
  as_root sh -c "nohup /usr/bin/docker-registry serve '$registry_dir/config.yml' >/var/log/dockvisor-registry.log 2>&1 &"
  for _ in $(seq 1 40); do registry_up && break; sleep 0.25; done
  registry_up || { log "the registry did not start; see /var/log/dockvisor-registry.log"; exit 1; }
fi

log "building bundles"
node scripts/build.mjs

log "ready"
