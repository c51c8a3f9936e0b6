"""Summaries as Markdown (citations are `[12:31]` links to segment anchors) and as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from minutekeeper.features.summary.summary import (
    DATE_SOURCES,
    ActionItem,
    Answer,
    Chapter,
    Citation,
    Point,
    Summary,
)
from minutekeeper.features.transcription.transcript import Transcript

FORMATS = ("md", "json")


def clock(seconds: float) -> str:
    """12:31, or 1:02:03 past an hour."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _cite(citations: Sequence[Citation]) -> str:
    return " ".join(f"[[{clock(c.start)}]](#{c.segment_id})" for c in citations)


def _line(point: Point) -> str:
    return f"{point.text} {_cite(point.citations)}".strip()


def _action(item: ActionItem) -> str:
    owner = f"**{item.owner}**: " if item.owner else "**(no owner)**: "
    due = ""
    if item.due is not None:
        due = f" — due **{item.due.isoformat()}** ({item.due_phrase})"
    elif item.due_phrase:
        due = f" — due {item.due_phrase}"
    return f"- [ ] {owner}{item.task}{due} {_cite(item.citations)}".rstrip()


def _chapter(number: int, chapter: Chapter) -> str:
    span = f"{clock(chapter.start)}-{clock(chapter.end)}"
    return f"{number}. **{chapter.title}** ({span}) {_cite(chapter.citations)}".rstrip()


def to_markdown(
    summary: Summary, transcript: Transcript | None = None, *, title: str = "Meeting summary"
) -> str:
    """The summary, and (when given) the transcript with an anchor per segment, so every
    citation link lands on the words it cites."""
    facts = [f"engine: {summary.engine}"]
    if summary.meeting_date:
        facts.append(f"meeting date: {summary.meeting_date.isoformat()}{_date_from(summary)}")
    if transcript is not None:
        facts.append(f"{clock(transcript.duration)} long, {len(transcript.speakers)} speaker(s)")
    out = [f"# {title}", "", f"_{' · '.join(facts)}_", ""]
    sections: list[tuple[str, list[str]]] = [
        ("Overview", [" ".join(_line(p) for p in summary.overview)] if summary.overview else []),
        ("Key points", [f"- {_line(p)}" for p in summary.key_points]),
        ("Decisions", [f"- {_line(p)}" for p in summary.decisions]),
        ("Action items", [_action(a) for a in summary.action_items]),
        ("Open questions", [f"- {_line(p)}" for p in summary.open_questions]),
        ("Chapters", [_chapter(i, c) for i, c in enumerate(summary.chapters, start=1)]),
        ("Notes", [f"- {note}" for note in summary.notes]),
    ]
    for heading, lines in sections:
        if lines or heading in {"Overview", "Decisions", "Action items"}:
            out += [f"## {heading}", "", *(lines or ["_None._"]), ""]
    if transcript is not None and transcript.segments:
        out += _transcript(transcript)
    return "\n".join(out).rstrip() + "\n"


def _date_from(summary: Summary) -> str:
    """ " (from the recording)" or " (the upload day)": a date nobody gave is said to be so."""
    told = summary.meeting_date_from
    return f" ({DATE_SOURCES[told]})" if told and told != "given" else ""


def _transcript(transcript: Transcript) -> list[str]:
    names = {s.id: s.name or s.id for s in transcript.speakers}
    lines = ["## Transcript", "", "<details><summary>Show the transcript</summary>", ""]
    for segment in transcript.segments:
        who = names.get(segment.speaker, segment.speaker)
        lines.append(
            f'<a id="{segment.id}"></a>**[{clock(segment.start)}] {who}:** {segment.text}  '
        )
    return [*lines, "", "</details>", ""]


def _citations(citations: Sequence[Citation]) -> list[dict[str, Any]]:
    return [{"segment_id": c.segment_id, "start": c.start, "at": clock(c.start)} for c in citations]


def _point(point: Point) -> dict[str, Any]:
    return {"text": point.text, "citations": _citations(point.citations)}


def to_dict(summary: Summary) -> dict[str, Any]:
    return {
        "engine": summary.engine,
        "meeting_date": summary.meeting_date.isoformat() if summary.meeting_date else None,
        "meeting_date_from": summary.meeting_date_from,
        "overview": [_point(p) for p in summary.overview],
        "key_points": [_point(p) for p in summary.key_points],
        "decisions": [_point(p) for p in summary.decisions],
        "action_items": [
            {
                "task": a.task,
                "owner": a.owner,
                "due": a.due.isoformat() if a.due else None,
                "due_phrase": a.due_phrase,
                "citations": _citations(a.citations),
            }
            for a in summary.action_items
        ],
        "open_questions": [_point(p) for p in summary.open_questions],
        "chapters": [
            {"title": c.title, "start": c.start, "end": c.end, "citations": _citations(c.citations)}
            for c in summary.chapters
        ],
        "notes": list(summary.notes),
        "dropped_claims": summary.dropped_claims,
    }


def render(summary: Summary, fmt: str, transcript: Transcript | None = None) -> str:
    if fmt == "json":
        return json.dumps(to_dict(summary), indent=2, ensure_ascii=False) + "\n"
    return to_markdown(summary, transcript)


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "found": answer.found,
        "engine": answer.engine,
        "citations": _citations(answer.citations),
        "notes": list(answer.notes),
    }


def render_answer(answer: Answer, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(answer_to_dict(answer), indent=2, ensure_ascii=False) + "\n"
    lines = [f"{answer.text} {_cite(answer.citations)}".rstrip()]
    lines += [f"_Note: {note}_" for note in answer.notes]
    return "\n\n".join(lines) + "\n"


def from_dict(data: dict[str, Any], *, where: str = "summary") -> Summary:
    """A summary written by `to_dict` (`summarize --format json`), read back; a malformed
    one is an error naming the field."""
    from datetime import date

    from minutekeeper.features.summary.errors import InvalidSummaryFile

    def cites(value: Any, at: str) -> tuple[Citation, ...]:
        if not isinstance(value, list):
            raise InvalidSummaryFile(f"{where}: {at}.citations: expected a list")
        try:
            return tuple(Citation(str(c["segment_id"]), float(c["start"])) for c in value)
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidSummaryFile(f"{where}: {at}.citations: {error}") from error

    def points(key: str) -> tuple[Point, ...]:
        found = []
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise InvalidSummaryFile(f"{where}: {key}[{i}].text: expected a string")
            found.append(Point(item["text"], cites(item.get("citations"), f"{key}[{i}]")))
        return tuple(found)

    actions = []
    for i, item in enumerate(data.get("action_items") or []):
        at = f"action_items[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("task"), str):
            raise InvalidSummaryFile(f"{where}: {at}.task: expected a string")
        try:
            due = date.fromisoformat(item["due"]) if item.get("due") else None
        except (TypeError, ValueError) as error:
            raise InvalidSummaryFile(f"{where}: {at}.due: expected YYYY-MM-DD") from error
        actions.append(ActionItem(item["task"], item.get("owner"), due, item.get("due_phrase"),
                                  cites(item.get("citations"), at)))  # fmt: skip
    chapters = []
    for i, item in enumerate(data.get("chapters") or []):
        at = f"chapters[{i}]"
        try:
            span = (str(item["title"]), float(item["start"]), float(item["end"]))
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidSummaryFile(f"{where}: {at}: needs title, start and end") from error
        chapters.append(Chapter(*span, cites(item.get("citations"), at)))
    try:
        day = date.fromisoformat(data["meeting_date"]) if data.get("meeting_date") else None
    except (TypeError, ValueError) as error:
        raise InvalidSummaryFile(f"{where}: meeting_date: expected YYYY-MM-DD") from error
    told = data.get("meeting_date_from")
    if told is not None and told not in DATE_SOURCES:
        raise InvalidSummaryFile(f"{where}: meeting_date_from: one of {', '.join(DATE_SOURCES)}")
    dropped = data.get("dropped_claims", 0)
    if not isinstance(dropped, int):
        raise InvalidSummaryFile(f"{where}: dropped_claims: expected a whole number")
    return Summary(
        overview=points("overview"),
        key_points=points("key_points"),
        decisions=points("decisions"),
        action_items=tuple(actions),
        open_questions=points("open_questions"),
        chapters=tuple(chapters),
        engine=str(data.get("engine", "extractive")),
        meeting_date=day,
        meeting_date_from=told if day else None,
        notes=tuple(str(n) for n in data.get("notes") or []),
        dropped_claims=dropped,
    )
