#!/usr/bin/env bash
# The main job on the embedded defaults: summarize the example meeting recording the project
# ships (examples/meeting.flac, 2 min 33 s, three speakers), end to end and offline:
# transcription (Whisper base), speaker diarization (Resemblyzer), then the extractive
# summary with cited action items, printed as Markdown. The roster names the diarized
# speakers (S1, S2, S3 in order of first speech) and the date resolves "by Thursday".
set -euo pipefail
cd "$(dirname "$0")/.."
command=(.venv/bin/minutekeeper summarize examples/meeting.flac
  --date 2026-11-23 --hotwords "Tallyloop, diarization, Grafana"
  --speaker S1=Alice --speaker S2=Bob --speaker S3=Carol --no-transcript)
show() { for word in "$@"; do [[ $word == *" "* ]] && printf " '%s'" "$word" || printf ' %s' "$word"; done; }
{ printf '$'; show "${command[@]}"; printf '\n\n'; } >&2
"${command[@]}"
