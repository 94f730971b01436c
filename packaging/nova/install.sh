#!/usr/bin/env bash
# Installs the dockvisor Nova driver where Nova loads drivers from: the nova.virt package of the Python that
# runs nova-compute. Then set in nova.conf:
#   [DEFAULT] compute_driver = dockvisor.DockvisorDriver
#   [dockvisor] url = http://127.0.0.1:8775   token = <the service's token>
# Usage: install.sh [--python /usr/bin/python3] [--target <nova/virt directory>]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
target=
while [ $# -gt 0 ]; do
  case "$1" in
    --python) python=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    *) echo "install.sh: unknown option $1 (use --python or --target)" >&2; exit 1 ;;
  esac
done
if [ -z "$target" ]; then
  target=$("$python" -c 'import os, nova.virt; print(os.path.dirname(nova.virt.__file__))' 2>/dev/null) || {
    echo "install.sh: $python cannot import nova (install python3-nova first)" >&2
    exit 1
  }
fi
install -d -m 0755 "$target/dockvisor"
install -m 0644 "$here"/nova/virt/dockvisor/*.py "$target/dockvisor/"
echo "installed the dockvisor driver in $target/dockvisor"
