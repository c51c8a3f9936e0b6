"""Uploaded recordings, kept beside their meeting (one folder per meeting id) so the web
page can play the moment a summary cites, and a person asked about words attributed to
them can hear just those; deleted with the person's words on erasure, and with the meeting
when it is deleted (set aside first, under a name no meeting has, until the deletion has
committed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from minutekeeper.features.transcription import audio

RECORDING = "recording"
TRACK = "track-"
ASIDE = ".deleted-"  # a meeting id never starts with a dot
AUDIO_SUFFIXES = frozenset(
    {".wav", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".webm", ".mp4", ".aac", ".mkv"}
)
# The longest stretch `clip` cuts: a segment is seconds long; a longer one is heard in part.
LONGEST_CLIP = 120.0


def media_folder(root: Path, meeting_id: str) -> Path:
    if not meeting_id or "/" in meeting_id or meeting_id.startswith("."):
        raise ValueError(f"not a meeting id: {meeting_id!r}")
    return root / meeting_id


def recording_of(root: Path, meeting_id: str) -> Path | None:
    """The meeting's single uploaded recording, if one was kept."""
    folder = media_folder(root, meeting_id)
    found = sorted(folder.glob(f"{RECORDING}.*")) if folder.is_dir() else []
    return found[0] if found else None


def delete_media(root: Path, meeting_id: str) -> None:
    shutil.rmtree(media_folder(root, meeting_id), ignore_errors=True)


def set_aside(root: Path, meeting_id: str) -> Path | None:
    """Move the meeting's folder to `.deleted-<id>` (one rename: nothing is served from it
    any more, and it can still be put back); None when it has none."""
    folder = media_folder(root, meeting_id)
    if not folder.exists():
        return None
    aside = root / f"{ASIDE}{meeting_id}"
    folder.rename(aside)
    return aside


def put_back(aside: Path) -> None:
    aside.rename(aside.parent / aside.name.removeprefix(ASIDE))


def set_aside_folders(root: Path) -> dict[str, Path]:
    """Folders set aside and not removed (a deletion interrupted, or one under way), by
    meeting id."""
    if not root.is_dir():
        return {}
    return {p.name.removeprefix(ASIDE): p for p in root.glob(f"{ASIDE}*") if p.is_dir()}


def sounds_of(root: Path, meeting_id: str) -> list[Path]:
    """The meeting's audio kept: its recording, or each person's track."""
    folder = media_folder(root, meeting_id)
    if not folder.is_dir():
        return []
    found = sorted(folder.glob(f"{RECORDING}.*")) or sorted(folder.glob(f"{TRACK}*"))
    return [p for p in found if p.suffix.lower() in AUDIO_SUFFIXES]


def clip(root: Path, meeting_id: str, start: float, end: float) -> bytes | None:
    """The meeting's sound over [start, end] (at most LONGEST_CLIP seconds) as a WAV file:
    the recording, or the tracks mixed; None when no audio of it is kept."""
    sounds = sounds_of(root, meeting_id)
    if not sounds:
        return None
    end = min(end, start + LONGEST_CLIP)
    spans = [audio.decode_span(path, start, end) for path in sounds]
    mixed = np.zeros(max(len(s) for s in spans), dtype=np.float32)
    for span in spans:
        mixed[: len(span)] += span
    return audio.to_wav(mixed)
