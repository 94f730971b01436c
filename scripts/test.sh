#!/usr/bin/env bash
# The whole test suite against real parts: Docker engine, bridges and veths, sshd on loopback.
# Both tiers in one ava run (package.json's files): the fast one, which `npm run test:unit` runs alone
# (ava.unit.config.mjs), and the rest.
# Ends with a line "N passed, N failed" and keeps ava's exit code.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
export PATH="/usr/lib/dockvisor/node/bin:$PATH" # the tests run on dockvisor's own runtime
# An action agent this machine's user may run is not the tests': their actions run by themselves unless a test starts one.
export DOCKVISOR_AGENT_SOCKET=
npx prettier --check --log-level warn "**/*.{ts,mjs}" || { echo "sources not formatted (npm run format)"; echo "0 passed, 1 failed"; exit 1; }
npx tsc -p . || { echo "0 passed, 1 failed"; exit 1; }
node --import tsx scripts/check-imports.ts || { echo "0 passed, 1 failed"; exit 1; } # the import boundaries of README's Layout
npx ava --tap "$@" | tee .ava.tap
rc=${PIPESTATUS[0]}
awk '/^# pass /{p=$3} /^# fail /{f=$3} /^# skip /{s=$3} /^# todo /{t=$3}
     END{printf "%d passed, %d failed", p+0, f+0; if (s+0) printf ", %d skipped", s; print ""}' .ava.tap
exit "$rc"
