#!/usr/bin/env bash
# The main job on the embedded defaults: summarize the example meeting recording the project
# ships (examples/meeting.flac, 2 min 33 s, three speakers), end to end and offline:
# transcription (Whisper base), speaker diarization (Resemblyzer), then the extractive
# summary with cited action items, printed as Markdown. The roster names the diarized
# speakers (S1, S2, S3 in order of first speech) and the date resolves "by Thursday".
#
# It runs in a throwaway data folder of its own: summarize saves the meeting and records
# its speakers as guests, and Alice, Bob and Carol belong to the example, not to your
# install. Only the prepared models are shared with your install (its model cache), so a
# second run does not prepare them again.
set -euo pipefail
cd "$(dirname "$0")/.."
models=$(.venv/bin/python -c \
  "from minutekeeper.core.settings import Settings; print(Settings().resolved_model_cache_dir())")
# Nothing of your install's storage settings may reach this run: its database, key, witness,
# exports and media all live in the throwaway folder.
unset MINUTEKEEPER_DATABASE_URL MINUTEKEEPER_AUDIT_KEY_PATH MINUTEKEEPER_AUDIT_WITNESS \
  MINUTEKEEPER_EXPORT_DIR MINUTEKEEPER_MEDIA_DIR
MINUTEKEEPER_DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/minutekeeper-example.XXXXXX")
export MINUTEKEEPER_DATA_DIR MINUTEKEEPER_MODEL_CACHE_DIR="$models"
command=(.venv/bin/minutekeeper summarize examples/meeting.flac
  --date 2026-11-23 --hotwords "Tallyloop, diarization, Grafana"
  --speaker S1=Alice --speaker S2=Bob --speaker S3=Carol --no-transcript)
show() { for word in "$@"; do [[ $word == *" "* ]] && printf " '%s'" "$word" || printf ' %s' "$word"; done; }
{ printf '$ MINUTEKEEPER_DATA_DIR=%s' "$MINUTEKEEPER_DATA_DIR"; show "${command[@]}"; printf '\n\n'; } >&2
"${command[@]}"
d=$MINUTEKEEPER_DATA_DIR
{
  printf '\nThe example ran in a throwaway data folder, not in your install: %s\n' "$d"
  printf 'It holds the saved meeting and its speakers (guests Alice, Bob and Carol).\n'
  printf '  look inside: MINUTEKEEPER_DATA_DIR=%s .venv/bin/minutekeeper meetings list\n' "$d"
  printf '  remove it:   rm -r %s\n' "$d"
} >&2
