"""`transcribe`: one service for every form a meeting arrives in.

- a recording (any container PyAV decodes): ASR, then diarization names speakers S1, S2, …;
- per-participant tracks: each track transcribed, the speaker known from the track;
- multi-channel audio with one speaker per channel: the same, per channel;
- a transcript file (WebVTT, SRT, or the project's JSON): read, no ASR.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minutekeeper.core.progress import Progress, Stage, StageProgress
from minutekeeper.features.transcription import align, audio, formats, subtitles
from minutekeeper.features.transcription.errors import InvalidLanguageCode, InvalidSpeakerMapping
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript, segment_id
from minutekeeper.models.asr import SAMPLE_RATE, AsrResult, Transcriber
from minutekeeper.models.diarization import Diarizer, SpeakerTurn

TRANSCRIPT_SUFFIXES = {".json": "json", ".vtt": "vtt", ".srt": "srt"}
# Whisper's language codes are two or three lowercase letters ("en", "haw"); the model
# itself says which of them it knows, once loaded.
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class TranscribeRequest:
    language: str | None = None
    hotwords: str | None = None
    num_speakers: int | None = None
    diarize: bool = True
    # Speaker label (S1, C1, a track name) -> the person's name, from the meeting roster.
    speaker_names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.language is not None and not _LANGUAGE_CODE.fullmatch(self.language):
            raise InvalidLanguageCode(
                f"unknown language {self.language!r}: give a code such as en or de"
            )

    def hints(self, names: Sequence[str] = ()) -> str | None:
        """Vocabulary hints: the given hotwords plus every roster name."""
        words = [self.hotwords] if self.hotwords else []
        words += sorted({*self.speaker_names.values(), *names})
        return ", ".join(words) or None


def is_transcript_file(path: Path) -> bool:
    return path.suffix.lower() in TRANSCRIPT_SUFFIXES


def read_transcript(path: Path) -> Transcript:
    """A transcript file in, no ASR: JSON, WebVTT or SRT."""
    if path.suffix.lower() == ".json":
        return formats.load_json(path)
    return subtitles.load_subtitles(path)


def transcribe_recording(
    path: Path,
    *,
    transcriber: Transcriber,
    diarizer: Diarizer | None,
    request: TranscribeRequest,
    progress: StageProgress | None = None,
    budget: audio.AudioBudget | None = None,
) -> Transcript:
    """One recording, speakers found by diarization (or one speaker, S1, without it);
    `budget` bounds the audio decoded (`audio.AudioBudget`), `progress` hears of the
    transcription's share done and of diarizing."""
    (samples,) = audio.decode(path, budget=budget)
    result = transcriber.transcribe(
        samples, language=request.language, hotwords=request.hints(), progress=_share(progress)
    )
    turns: list[SpeakerTurn] = []
    if diarizer is not None and request.diarize and result.segments:
        if progress is not None:
            progress(Stage.DIARIZING, 0.0)
        turns = diarizer.diarize(samples, num_speakers=request.num_speakers)
    pieces = align.attribute(result.segments, turns, default="S1")
    labels = sorted({p.speaker for p in pieces}, key=_label_order)
    speakers = _name(labels, request.speaker_names, source="diarization")
    return _transcript(pieces, speakers, result, source="recording")


def transcribe_tracks(
    tracks: Mapping[str, Path],
    *,
    transcriber: Transcriber,
    request: TranscribeRequest,
    progress: StageProgress | None = None,
    budget: audio.AudioBudget | None = None,
) -> Transcript:
    """Per-participant tracks (one file per person), merged on one timeline; one `budget`
    is spent over all of them."""
    decoded = {name: audio.decode(path, budget=budget)[0] for name, path in tracks.items()}
    speakers = tuple(Speaker(name, name, "track") for name in tracks)
    return _per_speaker(decoded, speakers, transcriber, request, progress, source="tracks")


def transcribe_channels(
    path: Path,
    *,
    transcriber: Transcriber,
    request: TranscribeRequest,
    progress: StageProgress | None = None,
    budget: audio.AudioBudget | None = None,
) -> Transcript:
    """Multi-channel audio with one speaker per channel: channel n is speaker Cn."""
    planes = audio.decode(path, split_channels=True, budget=budget)
    if len(planes) < 2:
        raise InvalidSpeakerMapping(
            f"{path} has one channel; --channels-are-speakers needs one speaker per channel"
        )
    labels = [f"C{i}" for i in range(1, len(planes) + 1)]
    speakers = _name(labels, request.speaker_names, source="channel")
    decoded = dict(zip(labels, planes, strict=True))
    return _per_speaker(decoded, speakers, transcriber, request, progress, source="channels")


def _per_speaker(
    decoded: Mapping[str, np.ndarray],
    speakers: tuple[Speaker, ...],
    transcriber: Transcriber,
    request: TranscribeRequest,
    progress: StageProgress | None,
    *,
    source: str,
) -> Transcript:
    pieces: list[align.Piece] = []
    results: list[AsrResult] = []
    hints = request.hints([s.name for s in speakers if s.name])
    for index, (label, samples) in enumerate(decoded.items()):

        def done(share: float, index: int = index) -> None:
            if progress is not None:
                progress(Stage.TRANSCRIBING, (index + share) / len(decoded))

        result = transcriber.transcribe(
            samples, language=request.language, hotwords=hints, progress=done
        )
        results.append(result)
        pieces += align.attribute(result.segments, [], default=label)
    pieces.sort(key=lambda p: (p.start, p.end))
    durations = [len(s) / SAMPLE_RATE for s in decoded.values()]
    best = max(results, key=lambda r: (bool(r.segments), r.language_probability))
    merged = AsrResult(best.language, best.language_probability, max(durations), ())
    louder = [loudest_other(decoded, p.speaker, p.start, p.end) for p in pieces]
    return _transcript(pieces, speakers, merged, source=source, louder=louder)


def _share(progress: StageProgress | None) -> Progress | None:
    """The transcriber's share done, as the transcribing stage's."""
    if progress is None:
        return None
    return lambda share: progress(Stage.TRANSCRIBING, share)


def loudest_other(
    decoded: Mapping[str, np.ndarray], label: str, start: float, end: float
) -> str | None:
    """The track louder than `label`'s own over [start, end] (the loudest such), or None
    when `label`'s is the loudest: a microphone also picks up the people near it."""
    first = max(0, int(start * SAMPLE_RATE))
    last = max(first + 1, int(end * SAMPLE_RATE))
    energy = {
        name: float(np.mean(np.square(samples[first:last], dtype=np.float64)))
        if len(samples[first:last])
        else 0.0
        for name, samples in decoded.items()
    }
    loudest = max(energy, key=lambda name: (energy[name], name == label))
    return None if loudest == label else loudest


def _label_order(label: str) -> tuple[int, str]:
    digits = label.lstrip("SC")
    return (int(digits), label) if digits.isdigit() else (1_000_000, label)


def _name(labels: Sequence[str], names: Mapping[str, str], *, source: str) -> tuple[Speaker, ...]:
    unknown = sorted(set(names) - set(labels))
    if unknown:
        found = ", ".join(labels) or "none"
        raise InvalidSpeakerMapping(
            f"no speaker {', '.join(unknown)} in this recording (found: {found})"
        )
    return tuple(Speaker(label, names.get(label), source) for label in labels)


def _transcript(
    pieces: list[align.Piece],
    speakers: tuple[Speaker, ...],
    result: AsrResult,
    *,
    source: str,
    louder: Sequence[str | None] = (),
) -> Transcript:
    louder = list(louder) or [None] * len(pieces)
    segments = tuple(
        Segment(segment_id(i), p.speaker, p.start, p.end, p.text, p.words, louder[i])
        for i, p in enumerate(pieces)
    )
    used = {s.speaker for s in segments}
    return Transcript(
        segments=segments,
        speakers=tuple(s for s in speakers if s.id in used or s.source != "diarization"),
        duration=result.duration,
        source=source,
        language=result.language or None,
        language_probability=result.language_probability if result.segments else None,
    )
