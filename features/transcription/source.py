"""What a meeting arrives as, checked once for every entry point: one recording (or a
transcript file), or one track per person. The CLI, the upload route and the job that
runs an upload all build a `Source` and call `transcribe_source`, so a rule about sources
(one track per person, each speaker label named once) holds everywhere or nowhere.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from minutekeeper.core.progress import Stage, StageProgress
from minutekeeper.features.transcription.audio import AudioBudget
from minutekeeper.features.transcription.errors import (
    EmptyFile,
    InputNotFound,
    InvalidSpeakerMapping,
    UnreadableFile,
)
from minutekeeper.features.transcription.service import (
    TranscribeRequest,
    is_transcript_file,
    read_transcript,
    transcribe_channels,
    transcribe_recording,
    transcribe_tracks,
)
from minutekeeper.features.transcription.transcript import Transcript
from minutekeeper.models.cache import ModelProvider

MAX_TRACKS = 20
MAX_SPEAKER_NAME = 100  # as many characters as renaming a speaker allows


def parse_pairs(values: Iterable[str], *, option: str) -> dict[str, str]:
    """`NAME=VALUE` strings (`S1=Alice`, `Alice=alice.wav`) as a mapping; a malformed pair
    or a name given twice is refused, naming the option as the user typed it."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key.strip() or not target.strip():
            raise InvalidSpeakerMapping(f"{option} takes NAME=VALUE, not {value!r}")
        if key.strip() in pairs:
            raise InvalidSpeakerMapping(f"{option} {key.strip()!r} is given twice")
        pairs[key.strip()] = target.strip()
    return pairs


def speaker_names(values: Iterable[str], *, option: str) -> dict[str, str]:
    """`LABEL=NAME` pairs (`S1=Alice`), each label and name 1 to `MAX_SPEAKER_NAME`
    printable characters; anything else is refused, naming the option as typed."""
    names = parse_pairs(values, option=option)
    for label, name in names.items():
        if any(len(x) > MAX_SPEAKER_NAME or not x.isprintable() for x in (label, name)):
            raise InvalidSpeakerMapping(
                f"{option} {label!r}: a label and a name are 1 to {MAX_SPEAKER_NAME} "
                "printable characters"
            )
    return names


def check_readable(path: Path, *, name: str | None = None) -> None:
    """Refuse a path that is no readable, non-empty file, saying why in words (never an
    errno); `name` is what the user called it (default: the path)."""
    shown = name or str(path)
    try:
        with path.open("rb") as handle:
            if not handle.read(1):
                raise EmptyFile(f"{shown}: the file is empty (0 bytes)")
    except FileNotFoundError as error:
        raise InputNotFound(f"{shown}: no such file") from error
    except IsADirectoryError as error:
        raise UnreadableFile(f"{shown}: is a folder, not a file") from error
    except PermissionError as error:
        raise UnreadableFile(f"{shown}: cannot be read: permission denied") from error
    except OSError as error:  # a loop of links, an I/O error: the system's words for it
        reason = os.strerror(error.errno or errno.EIO).lower()
        raise UnreadableFile(f"{shown}: cannot be read: {reason}") from error


def named_tracks(named: Iterable[tuple[str, Path]]) -> dict[str, Path]:
    """Each person's track by name; a name given to two tracks is refused."""
    tracks: dict[str, Path] = {}
    for name, path in named:
        if name.strip() in tracks:
            raise InvalidSpeakerMapping(f"two tracks have the same person's name: {name.strip()!r}")
        tracks[name.strip()] = path
    return tracks


@dataclass(frozen=True)
class Source:
    """One recording or transcript file, or one track per person (name -> file)."""

    recording: Path | None = None
    tracks: Mapping[str, Path] = field(default_factory=dict)
    channels_are_speakers: bool = False
    request: TranscribeRequest = field(default_factory=TranscribeRequest)

    def __post_init__(self) -> None:
        if (self.recording is None) == (not self.tracks):
            raise InvalidSpeakerMapping("give one recording or transcript, or one track per person")
        if len(self.tracks) > MAX_TRACKS:
            raise InvalidSpeakerMapping(f"at most {MAX_TRACKS} tracks, one per person")
        if any(not name.strip() or name != name.strip() for name in self.tracks):
            raise InvalidSpeakerMapping("every track needs its person's name")

    @property
    def files(self) -> list[Path]:
        return [self.recording] if self.recording is not None else list(self.tracks.values())

    @property
    def is_transcript(self) -> bool:
        """A transcript file: read as it is, no speech model loaded."""
        return self.recording is not None and is_transcript_file(self.recording)

    def to_params(self) -> dict[str, Any]:
        """JSON-ready, the files named relative to their folder (a job's params)."""
        return {
            "recording": self.recording.name if self.recording is not None else None,
            "tracks": {name: path.name for name, path in self.tracks.items()},
            "channels_are_speakers": self.channels_are_speakers,
            "language": self.request.language,
            "hotwords": self.request.hotwords,
            "num_speakers": self.request.num_speakers,
            "diarize": self.request.diarize,
            "speaker_names": dict(self.request.speaker_names),
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any], folder: Path) -> Source:
        """The source `to_params` described, its files in `folder`."""
        recording = params.get("recording")
        return cls(
            recording=folder / recording if recording else None,
            tracks={name: folder / file for name, file in (params.get("tracks") or {}).items()},
            channels_are_speakers=bool(params.get("channels_are_speakers", False)),
            request=TranscribeRequest(
                language=params.get("language"),
                hotwords=params.get("hotwords"),
                num_speakers=params.get("num_speakers"),
                diarize=bool(params.get("diarize", True)),
                speaker_names=params.get("speaker_names") or {},
            ),
        )


class SourceTranscriber(Protocol):
    """Makes a source's transcript: `transcribe_source` in this process, or a server job's
    child process with bounded memory (`minutekeeper.jobs.media`)."""

    def __call__(self, source: Source, *, progress: StageProgress | None = None) -> Transcript: ...


def transcribe_source(
    source: Source,
    *,
    models: ModelProvider,
    progress: StageProgress | None = None,
    max_audio_s: float | None = None,
) -> Transcript:
    """The source's transcript: a transcript file read as it is, audio transcribed (and
    diarized, for one recording of several people). Models are asked for only when used,
    all of them before the work starts (the preparing-models stage of `progress`).
    `max_audio_s` bounds the audio decoded, summed over tracks and channels (`AudioTooLong`
    as soon as decoding passes it)."""
    for path in source.files:
        check_readable(path)
    if source.is_transcript:
        assert source.recording is not None
        return read_transcript(source.recording)
    if progress is not None:
        progress(Stage.PREPARING_MODELS, 0.0)
    transcriber = models.transcriber()
    budget = AudioBudget(max_audio_s)
    if source.tracks:
        return transcribe_tracks(
            source.tracks,
            transcriber=transcriber,
            request=source.request,
            progress=progress,
            budget=budget,
        )
    assert source.recording is not None
    if source.channels_are_speakers:
        return transcribe_channels(
            source.recording,
            transcriber=transcriber,
            request=source.request,
            progress=progress,
            budget=budget,
        )
    return transcribe_recording(
        source.recording,
        transcriber=transcriber,
        diarizer=models.diarizer() if source.request.diarize else None,
        request=source.request,
        progress=progress,
        budget=budget,
    )
