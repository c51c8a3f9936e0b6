"""Compose: draft a message from a thread and an instruction (or from one of the visitor's
meetings), edit it, and report the text actually sent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minutekeeper.api.deps import get_runtime
from minutekeeper.api.pages.web import MemberViewer, render
from minutekeeper.features.meetings.store import list_meetings

router = APIRouter(include_in_schema=False)

MODES = (
    ("reply", "Reply to the thread"),
    ("followup", "Follow-up after a meeting"),
    ("rewrite", "Rewrite my text"),
)
TONES = ("neutral", "friendly", "formal", "concise")
LENGTHS = ("short", "medium", "long")


@router.get("/compose", response_class=HTMLResponse)
def compose_page(request: Request, who: MemberViewer) -> Response:
    runtime = get_runtime(request)
    me = who.principal
    found = list_meetings(runtime.engine, me.tenant_id, owner_id=me.subject_id)
    meetings = [m for m in found if m.summarized]
    return render(
        request,
        "compose.html",
        who,
        meetings=meetings,
        modes=MODES,
        tones=TONES,
        lengths=LENGTHS,
    )
