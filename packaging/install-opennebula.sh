#!/usr/bin/env bash
# Installs the dockvisor driver into an OpenNebula front-end's remotes tree (default /var/lib/one/remotes),
# from which OpenNebula copies it to every host. Run from a checkout; builds the bundles when needed.
#   packaging/install-opennebula.sh [REMOTES_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
remotes=${1:-/var/lib/one/remotes}
[ -d "$remotes" ] || { echo "install-opennebula: $remotes is not a directory (is OpenNebula installed?)" >&2; exit 1; }

if [ ! -f remotes/lib/dockvisor/vmm.mjs ]; then
  [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
  node scripts/build.mjs
fi

mkdir -p "$remotes/vmm" "$remotes/lib" "$remotes/etc/vmm" "$remotes/etc/tm" "$remotes/im" "$remotes/datastore" "$remotes/tm"
rm -rf "$remotes/vmm/dockvisor" "$remotes/lib/dockvisor" "$remotes/im/dockvisor.d" "$remotes/im/dockvisor-probes.d" \
  "$remotes/datastore/dockvisor" "$remotes/tm/dockvisor"
cp -RL remotes/vmm/dockvisor "$remotes/vmm/dockvisor"
cp -RL remotes/datastore/dockvisor "$remotes/datastore/dockvisor"
cp -RL remotes/tm/dockvisor "$remotes/tm/dockvisor"
cp -R remotes/lib/dockvisor "$remotes/lib/dockvisor"
# The monitoring client is OpenNebula's own: dockvisor.d only links to it, as its other drivers do.
cp -R remotes/im/dockvisor.d "$remotes/im/dockvisor.d"
cp -R remotes/im/dockvisor-probes.d "$remotes/im/dockvisor-probes.d"
# The host configuration is the admin's: installed once, never overwritten.
if [ ! -e "$remotes/etc/vmm/dockvisor/dockvisor.conf" ]; then
  cp -R remotes/etc/vmm/dockvisor "$remotes/etc/vmm/"
fi
# Except for this front-end's identity on the containers it makes, added once when the config has none.
front_end_id=$(node packaging/front-end-id.mjs "$remotes/etc/vmm/dockvisor/dockvisor.conf")
# So is the front-end's configuration of the transfer actions (how to reach hosts and registries).
if [ ! -e "$remotes/etc/tm/dockvisor/dockvisor.conf" ]; then
  cp -R remotes/etc/tm/dockvisor "$remotes/etc/tm/"
fi
if id oneadmin >/dev/null 2>&1; then
  chown -R oneadmin: "$remotes/vmm/dockvisor" "$remotes/lib/dockvisor" "$remotes/etc/vmm/dockvisor" \
    "$remotes/im/dockvisor.d" "$remotes/im/dockvisor-probes.d" "$remotes/datastore/dockvisor" "$remotes/tm/dockvisor" \
    "$remotes/etc/tm/dockvisor"
fi

echo "dockvisor installed; this front-end's containers carry io.dockvisor.opennebula.front-end-id=$front_end_id"
cat <<'TXT'
Add to /etc/one/oned.conf:

VM_MAD = [
    NAME           = "dockvisor",
    SUNSTONE_NAME  = "Dockvisor",
    EXECUTABLE     = "one_vmm_exec",
    ARGUMENTS      = "-t 15 -r 0 dockvisor",
    TYPE           = "xml",
    KEEP_SNAPSHOTS = "yes"
]

For the image datastore, append ",dockvisor" to the -d lists of TM_MAD and DATASTORE_MAD and add:

TM_MAD_CONF = [ NAME = "dockvisor", LN_TARGET = "SYSTEM", CLONE_TARGET = "SYSTEM", SHARED = "YES", DS_MIGRATE = "YES" ]
DS_MAD_CONF = [ NAME = "dockvisor", REQUIRED_ATTRS = "REGISTRY", PERSISTENT_ONLY = "NO" ]

and to /etc/one/monitord.conf, then restart opennebula:

IM_MAD = [
    NAME          = "dockvisor",
    SUNSTONE_NAME = "Dockvisor",
    EXECUTABLE    = "one_im_ssh",
    ARGUMENTS     = "-r 3 -t 15 -w 90 dockvisor",
    THREADS       = 0
]
TXT
