#!/bin/sh
# Actions a container cannot honestly perform link here: one place says "no".
echo "$(basename "$0"): not supported by dockvisor" >&2
exit 1
