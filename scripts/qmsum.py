"""QMSum (../shared/data/qmsum) as project transcripts, for the summary evaluation scripts.

QMSum transcripts are tokenised ("Okay . So , this is") and carry markers such as
{disfmarker} and {vocalsound}; they are joined back into plain text here. They have no
times, so each utterance gets a start from its position (0.35 s per word), only so that
citations have something to show.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript, segment_id

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "qmsum" / "val"
_MARKER = re.compile(r"\{[a-z_]+\}")
_BEFORE = re.compile(r"\s+([.,?!;:%])")
_CLITIC = re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b", re.IGNORECASE)
SECONDS_PER_WORD = 0.35


@dataclass(frozen=True)
class Meeting:
    name: str
    transcript: Transcript
    reference: str  # the "summarize the whole meeting" answer
    queries: list[dict]  # specific queries: query, answer, relevant_text_span


def detokenize(text: str) -> str:
    text = _MARKER.sub(" ", text)
    text = _BEFORE.sub(r"\1", text)
    text = _CLITIC.sub(r"\1", text)
    text = re.sub(r"(^|\s)[.,]+(?=\s|$)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def load(path: Path) -> Meeting:
    data = json.loads(path.read_text())
    segments, clock = [], 0.0
    for index, turn in enumerate(data["meeting_transcripts"]):
        text = detokenize(turn["content"])
        length = max(len(text.split()), 1) * SECONDS_PER_WORD
        if text:
            segments.append(
                Segment(segment_id(index), turn["speaker"], clock, clock + length, text)
            )
        clock += length
    names = sorted({s.speaker for s in segments})
    transcript = Transcript(
        segments=tuple(segments),
        speakers=tuple(Speaker(n, n, "subtitle") for n in names),
        duration=clock,
        source="qmsum",
        language="en",
    )
    general = data["general_query_list"][0]["answer"]
    return Meeting(path.stem, transcript, general, data["specific_query_list"])


def meetings(limit: int | None = None, folder: Path = DATA) -> list[Meeting]:
    """The meetings of a split's folder (val by default), in file-name order."""
    if not folder.is_dir():
        raise SystemExit(f"QMSum data not found at {folder} (see ../shared/data/README.md)")
    paths = sorted(folder.glob("*.json"))
    return [load(p) for p in paths[:limit]]


def domain(name: str) -> str:
    """AMI (product design: every meeting designs a remote control), ICSI (research groups)
    or committee (Welsh and Canadian parliamentary committees), by the file's name."""
    if re.match(r"(?:ES|IS|TS|EN)\d", name):
        return "ami"
    return "icsi" if re.match(r"B[a-z]{2}\d", name) else "committee"


def borrowed_questions(found: list[Meeting], index: int, *, each: int = 3) -> list[str]:
    """Questions for `found[index]` that it does not discuss: the first `each` topical
    specific queries of two meetings of another domain, picked by position (the same every
    run). Not from the same domain: a question from another AMI meeting is often discussed
    in this one too (they all design a remote control). A query with under two topic words
    once framing and speakers are left out ("What did the group discuss?") is skipped."""
    from minutekeeper.features.summary.retrieval import topic_words

    others = [m for m in found if domain(m.name) != domain(found[index].name)]
    if not others:
        return []
    picks = sorted({index % len(others), (index + len(others) // 2) % len(others)})
    asked = []
    for source in (others[pick] for pick in picks):
        names = [s.id for s in source.transcript.speakers]
        topical = [q["query"] for q in source.queries if len(topic_words(q["query"], names)) >= 2]
        asked += topical[:each]
    return asked
