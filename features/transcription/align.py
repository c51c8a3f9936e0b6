"""Putting ASR words and diarization turns together: every word gets the speaker whose turn
covers it most, and a segment is split at word boundaries where the speaker changes."""

from __future__ import annotations

from dataclasses import dataclass

from minutekeeper.features.transcription.transcript import Word
from minutekeeper.models.asr import AsrSegment, AsrWord
from minutekeeper.models.diarization import SpeakerTurn

MAX_PAUSE_S = 1.5


@dataclass(frozen=True)
class Piece:
    """A stretch of one speaker's words, before it becomes a numbered `Segment`."""

    speaker: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...]


def speaker_at(start: float, end: float, turns: list[SpeakerTurn]) -> str:
    """The speaker whose turns overlap [start, end] most; the nearest turn if none does."""
    overlap: dict[str, float] = {}
    for turn in turns:
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=lambda speaker: overlap[speaker])
    middle = (start + end) / 2
    nearest = min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle)))
    return nearest.speaker


def attribute(
    segments: tuple[AsrSegment, ...], turns: list[SpeakerTurn], *, default: str
) -> list[Piece]:
    """Split ASR segments into single-speaker pieces (`default` when there are no turns).

    A piece also ends at a pause longer than `MAX_PAUSE_S` between two words: Whisper can
    run one segment across a long silence (a participant's own track is mostly silence),
    and a segment's timestamps must say when its words were spoken.
    """
    pieces: list[Piece] = []
    for segment in segments:
        if segment.words:
            pieces.extend(_split(segment, turns, default))
        else:
            speaker = speaker_at(segment.start, segment.end, turns) if turns else default
            pieces.append(_piece(speaker, (), segment))
    return [piece for piece in pieces if piece.text]


def _split(segment: AsrSegment, turns: list[SpeakerTurn], default: str) -> list[Piece]:
    runs: list[tuple[str, list[AsrWord]]] = []
    for word in segment.words:
        speaker = speaker_at(word.start, word.end, turns) if turns else default
        if runs and runs[-1][0] == speaker and word.start - runs[-1][1][-1].end <= MAX_PAUSE_S:
            runs[-1][1].append(word)
        else:
            runs.append((speaker, [word]))
    return [_piece(speaker, tuple(words), segment) for speaker, words in runs]


def _piece(speaker: str, words: tuple[AsrWord, ...], segment: AsrSegment) -> Piece:
    if not words:
        return Piece(speaker, segment.start, segment.end, segment.text.strip(), ())
    return Piece(
        speaker=speaker,
        start=words[0].start,
        end=words[-1].end,
        text="".join(w.text for w in words).strip(),
        words=tuple(Word(w.start, w.end, w.text.strip(), w.probability) for w in words),
    )
