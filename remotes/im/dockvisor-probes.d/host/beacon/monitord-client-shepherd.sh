#!/bin/sh
# Stops dockvisor monitoring clients left over from an earlier start of this host's monitoring,
# keeping the one the control script started last. Prints nothing: it is not a beacon.
pidfile="/tmp/one-monitord-$2.pid"
[ -f "$pidfile" ] || exit 0
current=$(cat "$pidfile")
for pid in $(pgrep -f "monitord-client.rb $1" 2>/dev/null); do
    [ "$pid" = "$current" ] || kill -ABRT "$pid" 2>/dev/null
done
exit 0
