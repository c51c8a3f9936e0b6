"""Uploaded recordings, kept beside their meeting (one folder per meeting id) so the web
page can play the moment a summary cites; deleted with the person's words on erasure."""

from __future__ import annotations

import shutil
from pathlib import Path

RECORDING = "recording"


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
