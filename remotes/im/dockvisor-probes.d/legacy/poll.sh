#!/bin/sh
# OpenNebula 5.x: the whole host and VM report in one output (VM_POLL=YES), for the 5.x probe runner.
node=${DOCKVISOR_NODE:-/usr/lib/dockvisor/node/bin/node}; [ -x "$node" ] || node=node
exec "$node" "$(dirname "$0")/../../../lib/dockvisor/im.mjs" poll-5x "$@"
