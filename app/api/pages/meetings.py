"""Meetings: the visitor's own meetings and an upload form; a meeting's summary with every
citation linked to its transcript moment, the transcript, the recording and speaker names.
Another member's meeting reads as missing, as it does in the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minutekeeper.api.deps import get_runtime
from minutekeeper.api.pages.web import MemberViewer, not_found, render
from minutekeeper.api.routes.meetings import info_public, own_meeting
from minutekeeper.core.errors import NotFound
from minutekeeper.features.meetings.errors import AmbiguousMeeting
from minutekeeper.features.meetings.store import StoredMeeting, list_meetings
from minutekeeper.features.summary import render as summary_render
from minutekeeper.features.summary.summary import DATE_SOURCES
from minutekeeper.features.transcription import formats
from minutekeeper.runtime import Runtime

router = APIRouter(include_in_schema=False)

TRANSCRIPT_DOWNLOADS = (("text", "Text"), ("srt", "SRT"), ("vtt", "WebVTT"), ("json", "JSON"))
SUMMARY_DOWNLOADS = (("md", "Markdown"), ("json", "JSON"))
SECTIONS = (
    ("overview", "Overview"),
    ("key_points", "Key points"),
    ("decisions", "Decisions"),
    ("action_items", "Action items"),
    ("open_questions", "Open questions"),
    ("chapters", "Chapters"),
)


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, who: MemberViewer) -> Response:
    runtime = get_runtime(request)
    me = who.principal
    found = list_meetings(runtime.engine, me.tenant_id, owner_id=me.subject_id)
    meetings = [info_public(info, runtime) for info in found]
    limit_mb = runtime.settings.upload_max_bytes // (1 << 20)
    return render(request, "meetings.html", who, meetings=meetings, limit_mb=limit_mb)


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(meeting_id: str, request: Request, who: MemberViewer) -> Response:
    runtime = get_runtime(request)
    try:
        stored = own_meeting(runtime, who.principal, meeting_id)
    except (NotFound, AmbiguousMeeting):
        return not_found(request, who, "meeting")
    if stored.info.id != meeting_id:  # the API takes an id prefix; a page's address is exact
        return not_found(request, who, "meeting")
    return render(request, "meeting.html", who, **meeting_view(runtime, stored))


def meeting_view(runtime: Runtime, stored: StoredMeeting) -> dict[str, Any]:
    """What the meeting page shows: the info, the summary's sections (each line with its
    citations), the speakers with their shown names, and the transcript's segments."""
    transcript = formats.to_dict(stored.transcript)
    names = formats.display_names(stored.transcript)
    summary = summary_render.to_dict(stored.summary) if stored.summary else None
    summarized = stored.summary
    return {
        "meeting": info_public(stored.info, runtime),
        "transcript_formats": TRANSCRIPT_DOWNLOADS,
        "summary_formats": SUMMARY_DOWNLOADS,
        # the day due dates were resolved against, and where it came from
        "held": summarized.meeting_date if summarized else None,
        "date_from": DATE_SOURCES.get(summarized.meeting_date_from or "") if summarized else None,
        "sections": _sections(summary) if summary else None,
        "action_text": action_text(summary["action_items"]) if summary else "",
        "notes": summary["notes"] if summary else [],
        "speakers": [{"id": s["id"], "name": names[s["id"]]} for s in transcript["speakers"]],
        "segments": [
            {**seg, "name": names.get(seg["speaker"], seg["speaker"])}
            for seg in transcript["segments"]
        ],
    }


def _sections(summary: dict[str, Any]) -> list[dict[str, Any]]:
    sections = []
    for key, heading in SECTIONS:
        items = [_line(key, item) for item in summary.get(key, [])]
        if items or key in ("overview", "decisions", "action_items"):
            sections.append({"key": key, "heading": heading, "items": items})
    return sections


def action_text(items: list[dict[str, Any]]) -> str:
    """The action items as plain text to paste elsewhere, one line each: who, what, and
    when it is due (as in the Markdown summary, without its links)."""
    lines = []
    for item in items:
        line = f"{item.get('owner') or '(no owner)'}: {item['task']}"
        if item.get("due"):
            phrase = f" ({item['due_phrase']})" if item.get("due_phrase") else ""
            line += f" — due {item['due']}{phrase}"
        elif item.get("due_phrase"):
            line += f" — due {item['due_phrase']}"
        lines.append(line)
    return "\n".join(lines)


def _line(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """One summary line as text plus its citations."""
    if key == "action_items":
        text = item["task"]
        extra = [f"owner: {item['owner']}"] if item.get("owner") else []
        if item.get("due"):
            extra.append(f"due: {item['due']}")
        elif item.get("due_phrase"):  # no meeting date: the words, the day left open
            extra.append(f"due: {item['due_phrase']} (day open)")
        text += f" ({'; '.join(extra)})" if extra else ""
    elif key == "chapters":
        text = item["title"]
    else:
        text = item["text"]
    return {"text": text, "citations": item.get("citations", [])}
