"""My words: requests asking whether words someone attributed to the visitor by name are
theirs, each item answered "mine" or "not mine"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minutekeeper.api.deps import get_runtime
from minutekeeper.api.pages.web import MemberViewer, render
from minutekeeper.features.meetings.media import sounds_of

router = APIRouter(include_in_schema=False)


@router.get("/attributions", response_class=HTMLResponse)
def attributions_page(request: Request, who: MemberViewer) -> Response:
    runtime = get_runtime(request)
    found = runtime.service.attribution_requests(who.principal)
    now = runtime.service.clock()
    media = runtime.settings.resolved_media_dir()
    return render(
        request,
        "attributions.html",
        who,
        audible={
            r.id for r in found if r.source_kind == "meeting" and sounds_of(media, r.source_id)
        },
        open=[r for r in found if r.open_at(now)],
        answered=[r for r in found if r.status != "pending"],
    )
