#!/usr/bin/env bash
# The one test entry point, for people and for CI: set up, lint, type-check, check the
# layers, then run the tests. Extra arguments go to pytest (e.g. -k gate, -m "not slow";
# -n0 runs them in one process instead of one worker per core).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The browser test drives Debian's Chromium (no browser download); install it when missing
# and this machine can (root with apt), else that one test skips and says why.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
    >/dev/null || echo "warning: could not install chromium; the browser test will skip" >&2
fi
# The scale-out test starts its own Redis server from Debian's redis-server; install it the
# same way when missing, else that test skips and says why.
if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) \
    >/dev/null || echo "warning: could not install redis-server; the scale-out test will skip" >&2
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
