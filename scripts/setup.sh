#!/usr/bin/env bash
# Sets minutekeeper up in .venv (Python 3.11) with its pinned dependencies and dev tools.
# Safe to run again: an existing .venv is reused and brought up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip<26"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" --config-settings editable_mode=strict \
  2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
# The redaction model comes from an unofficial upload: check its files against the pinned
# SHA-256 and its meta.json now (a second), so a wrong wheel fails here, not at capture.
.venv/bin/python -c "from minutekeeper.consent.ner_pipeline import EN_CORE_WEB_SM, verify; verify(EN_CORE_WEB_SM)"
echo "minutekeeper is set up: .venv/bin/minutekeeper --help"
