#!/usr/bin/env bash
# Run a benchmark script on an earlier commit and on the working tree, alternately, so both
# meet the same machine at the same moments (a figure "within X of before" needs the
# before measured beside it; this VM's run-to-run noise is larger than such targets).
#
#   bash scripts/bench_against.sh REF ROUNDS SCRIPT [ARGS...]
#   bash scripts/bench_against.sh 36797f0 3 scripts/bench_gate.py --events 100000 \
#       --decisions 2000 --appends 300 --skip-pg
#
# REF is checked out into a throwaway worktree and imported from there with this
# checkout's .venv (its dependencies must be the same). Each line of output is prefixed
# with "REF" or "now"; the benchmark's own summary table is what to compare.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,12p "$0"; exit 2; }
ref=$1 rounds=$2
shift 2
root=$(git rev-parse --show-toplevel)
python=$root/.venv/bin/python
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --quiet --detach "$work/tree" "$ref"
# The package as pyproject's package-dir lays it out, from the old tree.
mkdir -p "$work/pkg"
cp -r "$work/tree/app" "$work/pkg/minutekeeper"
for part in consent features models; do
    ln -s "$work/tree/$part" "$work/pkg/minutekeeper/$part"
done
for round in $(seq "$rounds"); do
    echo "== round $round of $rounds"
    (cd "$work/tree" && PYTHONPATH=$work/pkg "$python" "$@" 2>&1 | sed "s/^/$ref /")
    (cd "$root" && "$python" "$@" 2>&1 | sed "s/^/now /")
done
