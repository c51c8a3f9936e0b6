"""Recordings, per-participant tracks and subtitle files in; a speaker-attributed
`Transcript` out."""
