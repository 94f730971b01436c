#!/bin/sh
exec node "$(dirname "$0")/../../../../lib/dockvisor/im.mjs" vm-monitor "$@"
