#!/bin/sh
# The beacon: the host's clock, which tells monitord that the monitoring client is alive.
date +%s
