"""`/v1/search`: words in the transcripts and summaries of the meetings the caller sees
(their own, and those shared with them because they confirmed speaking in them), never
anyone else's. Each hit links to the moment on the meeting's page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from minutekeeper.api.deps import Member, RuntimeDep
from minutekeeper.api.paging import Paging, page_of
from minutekeeper.api.schemas import Page, SearchHitPublic
from minutekeeper.consent import Principal
from minutekeeper.features.meetings.search import MAX_QUERY, SearchHit, SearchQuery
from minutekeeper.features.sharing import role_of, search_meetings
from minutekeeper.features.summary.render import clock

router = APIRouter(prefix="/v1/search", tags=["search"])

SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_QUERY,
        description='Words to find (each must be there); "a quoted phrase" as it was said. '
        "Anything else only separates words: no operators.",
    ),
]


def moment_link(hit: SearchHit) -> str:
    """The meeting page at the hit's moment: its segment's anchor (the page highlights the
    segment and plays from it), or the summary for an item that cites none."""
    return f"/meetings/{hit.meeting_id}#{hit.segment_id or 'summary'}"


def hit_public(hit: SearchHit, me: Principal) -> SearchHitPublic:
    return SearchHitPublic(
        id=str(hit.id), meeting_id=hit.meeting_id, title=hit.title,
        role=role_of(me, hit.owner_id), kind=hit.kind, section=hit.section,
        speaker=hit.speaker, snippet=hit.snippet, highlights=list(hit.highlights),
        start=hit.start, at=clock(hit.start) if hit.start is not None else None,
        link=moment_link(hit),
    )  # fmt: skip


@router.get("", response_model=Page[SearchHitPublic])
def search(q: SearchText, runtime: RuntimeDep, me: Member, paging: Paging) -> Any:
    """Find words in your meetings and those shared with you: newest meeting first, each
    one's summary items before its transcript, a page at a time."""
    query = SearchQuery.parse(q)
    found = search_meetings(runtime.service, me, query, after=paging.cursor,
                            limit=paging.fetch)  # fmt: skip
    return page_of([hit_public(hit, me) for hit in found], paging, lambda h: h.id)
