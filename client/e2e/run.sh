#!/usr/bin/env bash
# End-to-end tests of the browser client in real Chromium against the real
# server and bots (`make e2e` builds them first, then runs this).
#
#   client/e2e/run.sh                      every test
#   client/e2e/run.sh tests/04-*.test.mjs  some of them
#
# Environment: SKIRMISH_BIN, BOTS_BIN (default bin/skirmish, bin/bots of the
# repository), CHROMIUM_BIN (default /usr/bin/chromium), E2E_VERBOSE=1 to
# echo the server's and bots' output. Screenshots and logs go to
# client/e2e/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
start=$SECONDS

as_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: $1 is missing and only root can install it here (apt-get install $2)" >&2
    exit 1
  fi
}

# Debian's Chromium (never a browser download).
CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_BIN" ]; then
  if [ "$CHROMIUM_BIN" != /usr/bin/chromium ]; then
    echo "run.sh: CHROMIUM_BIN=$CHROMIUM_BIN is not an executable" >&2
    exit 1
  fi
  as_root "$CHROMIUM_BIN" chromium
  echo "run.sh: installing chromium with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM_BIN

# redis-server, for the restart test with a session store.
if ! command -v redis-server >/dev/null 2>&1; then
  as_root redis-server redis-server
  echo "run.sh: installing redis-server with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

# Node 20 or later with npm.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  as_root node "nodejs npm"
  echo "run.sh: installing nodejs and npm with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "run.sh: node $(node --version) is too old: the tests need Node 20 or later" >&2
  exit 1
fi

# The server and bot binaries.
SKIRMISH_BIN="${SKIRMISH_BIN:-../../bin/skirmish}"
BOTS_BIN="${BOTS_BIN:-../../bin/bots}"
for bin in "$SKIRMISH_BIN" "$BOTS_BIN"; do
  if [ ! -x "$bin" ]; then
    echo "run.sh: $bin not found: run \`make build\` first (or set SKIRMISH_BIN / BOTS_BIN)" >&2
    exit 1
  fi
done
export SKIRMISH_BIN BOTS_BIN

# playwright-core, exactly as locked.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "$#" -gt 0 ]; then
  tests=("$@")
else
  tests=(tests/*.test.mjs)
fi
status=0
node --test --test-concurrency=1 --test-timeout=120000 --test-reporter=spec "${tests[@]}" || status=$?
echo "e2e: ${#tests[@]} test files in $((SECONDS - start)) s (screenshots and logs in client/e2e/screenshots/)"
exit "$status"
