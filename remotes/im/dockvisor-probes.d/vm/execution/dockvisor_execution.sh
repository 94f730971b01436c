#!/bin/sh
node=${DOCKVISOR_NODE:-/usr/lib/dockvisor/node/bin/node}; [ -x "$node" ] || node=node
exec "$node" "$(dirname "$0")/../../../../lib/dockvisor/im.mjs" vm-execution "$@"
