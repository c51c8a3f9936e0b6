#!/usr/bin/env bash
# The consent walkthrough of a local install, in a throwaway data folder: an admin publishes
# the notice and turns training sharing on, the local user reads it and agrees, sees what
# the gate now decides, withdraws with one command, and the audit chain verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
export MINUTEKEEPER_DATA_DIR="${MINUTEKEEPER_DATA_DIR:-$(mktemp -d)}"
mk() {
  printf '\n$ minutekeeper %s\n' "$*"
  .venv/bin/minutekeeper "$@"
}
echo "data folder: $MINUTEKEEPER_DATA_DIR"
mk consent notice publish
mk consent status
mk consent tenant set --training-sharing on
mk consent give --yes
mk consent status
mk consent withdraw
mk consent status
mk consent history
mk audit checkpoint
mk audit verify
