"""Meetings: the visitor's own meetings and those shared with them, a search over their
words (`?q=`, each hit a link to its moment) and an upload form; a meeting's summary with
every citation linked to its transcript moment, the transcript, the recording and speaker
names. Another member's meeting reads as missing, as it does in the API; one shared with
the visitor reads without the owner's controls (rename, delete)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minutekeeper.api.deps import get_runtime
from minutekeeper.api.pages.web import MemberViewer, not_found, render
from minutekeeper.api.routes.meetings import info_public, seen_meeting
from minutekeeper.api.routes.search import hit_public
from minutekeeper.consent import Principal
from minutekeeper.core.errors import InvalidInput, NotFound
from minutekeeper.features.meetings.errors import AmbiguousMeeting
from minutekeeper.features.meetings.search import SearchQuery, runs
from minutekeeper.features.meetings.store import StoredMeeting
from minutekeeper.features.sharing import owner_names, search_meetings, visible_meetings
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


SEARCH_PAGE = 20  # hits a page of search results shows


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(
    request: Request, who: MemberViewer, q: str | None = None, cursor: str | None = None
) -> Response:
    runtime = get_runtime(request)
    me = who.principal
    found = visible_meetings(runtime.service, me)
    names = owner_names(runtime.service, me, [info.owner_id for info in found])
    meetings = [info_public(info, runtime, me, names) for info in found]
    limit_mb = runtime.settings.upload_max_bytes // (1 << 20)
    search = _search(runtime, me, q, cursor) if q is not None else None
    return render(request, "meetings.html", who, meetings=meetings, limit_mb=limit_mb,
                  q=q or "", search=search)  # fmt: skip


def _search(runtime: Runtime, me: Principal, q: str, cursor: str | None) -> dict[str, Any]:
    """A page of hits for `q` in what `me` sees, each with its snippet's matched runs and
    a link to its moment; or the reason the query cannot be searched."""
    try:
        query = SearchQuery.parse(q)
        found = search_meetings(runtime.service, me, query, after=cursor, limit=SEARCH_PAGE + 1)
    except InvalidInput as error:
        return {"error": error.message, "hits": [], "more": None}
    hits = [hit_public(hit, me) for hit in found[:SEARCH_PAGE]]
    more = hits[-1].id if len(found) > SEARCH_PAGE else None
    return {
        "error": None,
        "hits": [{"hit": h, "runs": runs(h.snippet, h.highlights)} for h in hits],
        "more": more,
    }


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(meeting_id: str, request: Request, who: MemberViewer) -> Response:
    runtime = get_runtime(request)
    try:
        stored = seen_meeting(runtime, who.principal, meeting_id)
    except (NotFound, AmbiguousMeeting):
        return not_found(request, who, "meeting")
    if stored.info.id != meeting_id:  # the API takes an id prefix; a page's address is exact
        return not_found(request, who, "meeting")
    return render(request, "meeting.html", who, **meeting_view(runtime, stored, who.principal))


def meeting_view(runtime: Runtime, stored: StoredMeeting, me: Principal) -> dict[str, Any]:
    """What the meeting page shows `me`: the info (theirs, or shared with them), the
    summary's sections (each line with its citations), the speakers with their shown
    names, and the transcript's segments."""
    transcript = formats.to_dict(stored.transcript)
    names = formats.display_names(stored.transcript)
    summary = summary_render.to_dict(stored.summary) if stored.summary else None
    summarized = stored.summary
    return {
        "meeting": info_public(stored.info, runtime, me),
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
