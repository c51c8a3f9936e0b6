"""Sentences of a transcript: what summaries select, cite and check claims against.

A segment is split into sentences; each keeps its segment id, speaker and an estimate of
when it was said (from word timestamps when the transcript has them, otherwise by its
position in the segment's text). `clean` removes hesitations ("uh", "um") and stuttered
repeats, so a quoted sentence reads well without saying anything the speaker did not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from minutekeeper.features.summary.summary import Citation
from minutekeeper.features.transcription.transcript import Segment, Transcript

_SPLIT = re.compile(r"(?<=[.?!])\s+(?=[\"'(]?[A-Z0-9])")
_FILLER = re.compile(r"(?:^|(?<=\s))(?:uh-huh|uh+|um+|mm+|hmm+|er+|ah+)\b[,.]?\s*", re.IGNORECASE)
_REPEAT = re.compile(r"\b(\w+)(?:,?\s+\1\b)+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z0-9']+")


@dataclass(frozen=True)
class Sentence:
    index: int  # position among all sentences of the meeting
    segment_id: str
    speaker: str  # the person's name when known, otherwise the speaker label
    start: float
    end: float
    text: str

    @property
    def citation(self) -> Citation:
        return Citation(self.segment_id, round(self.start, 2))

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.text))


def clean(text: str) -> str:
    """Without hesitations and immediate repeats ("I I think" -> "I think")."""
    text = _FILLER.sub("", text)
    text = _REPEAT.sub(r"\1", text)
    text = _SPACE.sub(" ", text).strip(" ,")
    return text[:1].upper() + text[1:] if text else text


def speaker_names(transcript: Transcript) -> dict[str, str]:
    """Speaker id -> what to call them: the roster name, or the label when unknown."""
    return {s.id: s.name or s.id for s in transcript.speakers}


def sentences(transcript: Transcript) -> list[Sentence]:
    names = speaker_names(transcript)
    found: list[Sentence] = []
    for segment in transcript.segments:
        for text, start, end in _split(segment):
            cleaned = clean(text)
            if cleaned:
                speaker = names.get(segment.speaker, segment.speaker)
                found.append(Sentence(len(found), segment.id, speaker, start, end, cleaned))
    return found


def _split(segment: Segment) -> list[tuple[str, float, float]]:
    """(text, start, end) of each sentence of a segment."""
    parts = [p for p in _SPLIT.split(segment.text.strip()) if p.strip()]
    if not parts:
        return []
    total = sum(len(p) for p in parts)
    duration = max(segment.end - segment.start, 0.0)
    words = segment.words
    found = []
    offset = 0
    word_index = 0
    for part in parts:
        start = segment.start + duration * offset / total
        end = segment.start + duration * (offset + len(part)) / total
        count = len(part.split())
        if words and word_index + count <= len(words):  # word timestamps, when they line up
            start, end = words[word_index].start, words[word_index + count - 1].end
        found.append((part, start, end))
        offset += len(part)
        word_index += count
    return found
