# Sourced by every VMM and transfer action's launcher (remotes/vmm/dockvisor/<action>, remotes/tm/dockvisor/<action>)
# after it sets dockvisor_bundle, dockvisor_action and dockvisor_here (its directory, found without a fork); "$@" is
# OpenNebula's argv, passed on as it is, never parsed.
# With an action agent listening for this user (~/.dockvisor/vmm-agent.sock for the VMM actions, a host's agent.mjs;
# ~/.dockvisor/tm-agent.sock for the transfer actions, the front-end's keeper; or $DOCKVISOR_AGENT_SOCKET, empty for
# none) and Python 3, agent-client.py hands it the action, or runs node itself when the agent is not for these
# remotes; else node runs the action here.
lib=$dockvisor_here/../../lib
node=${DOCKVISOR_NODE:-/usr/lib/dockvisor/node/bin/node}; [ -x "$node" ] || node=node
agent=${DOCKVISOR_AGENT_SOCKET-${HOME:-/nonexistent}/.dockvisor/$dockvisor_bundle-agent.sock}
python=${DOCKVISOR_PYTHON:-/usr/bin/python3}
if [ -n "$agent" ] && [ -S "$agent" ] && [ -x "$python" ]; then
  exec "$python" -I -S "$lib/dockvisor-launch/agent-client.py" "$agent" "$node" "$lib/dockvisor" "$dockvisor_bundle" "$dockvisor_action" "$@"
fi
exec "$node" "$lib/dockvisor/$dockvisor_bundle.mjs" "$dockvisor_action" "$@"
