#!/bin/sh
# OpenNebula 5.x: the whole host and VM report in one output (VM_POLL=YES), for the 5.x probe runner.
exec node "$(dirname "$0")/../../../lib/dockvisor/im.mjs" poll-5x "$@"
