#!/usr/bin/env bash
# The one test entry point, for people and for CI: set up, lint, type-check, check the
# layers, then run the tests. Extra arguments go to pytest (e.g. -k gate, -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
