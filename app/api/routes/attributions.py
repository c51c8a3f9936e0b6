"""`/v1/attributions`: the requests asking you whether words attributed to you are yours,
and your answer, item by item. Only you see and answer your own requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import Response

from minutekeeper.api.deps import Anyone, MemberCaller, RuntimeDep
from minutekeeper.api.paging import Paging, page_of
from minutekeeper.api.schemas import AttributionAnswer, AttributionPublic, Page
from minutekeeper.consent import AttributionRequest
from minutekeeper.features.attribution import offer_again
from minutekeeper.features.meetings.errors import NoAudio
from minutekeeper.features.meetings.media import clip, sounds_of
from minutekeeper.runtime import Runtime

router = APIRouter(prefix="/v1/attributions", tags=["attribution"])


def attribution_public(runtime: Runtime, request: AttributionRequest) -> AttributionPublic:
    return AttributionPublic.model_validate(
        {
            **request.__dict__,
            "items": [item.__dict__ for item in request.items],
            "audio": has_audio(runtime, request),
        }
    )


def has_audio(runtime: Runtime, request: AttributionRequest) -> bool:
    """Whether the words can be heard: a meeting whose recording or tracks are kept."""
    return request.source_kind == "meeting" and bool(
        sounds_of(runtime.settings.resolved_media_dir(), request.source_id)
    )


@router.get("", response_model=Page[AttributionPublic])
def mine(runtime: RuntimeDep, me: Anyone, paging: Paging) -> Any:
    """Your requests, newest first, a page at a time: words someone attributed to you by
    name."""
    found = runtime.service.attribution_requests(me, after=paging.cursor, limit=paging.fetch)
    return page_of([attribution_public(runtime, r) for r in found], paging, lambda r: r.id)


@router.get("/{request_id}", response_model=AttributionPublic)
def one(request_id: str, runtime: RuntimeDep, me: Anyone) -> Any:
    """One of your requests, with only the words attributed to you."""
    return attribution_public(runtime, runtime.service.attribution_request(me, request_id))


@router.get(
    "/{request_id}/items/{item_id}/audio",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}},
)
def item_audio(request_id: str, item_id: str, runtime: RuntimeDep, me: Anyone) -> Response:
    """The sound of one item of your request, cut from the meeting's recording: that
    stretch alone, never the rest of the meeting."""
    request = runtime.service.attribution_request(me, request_id)
    item = next((i for i in request.items if i.id == item_id), None)
    if item is None or item.start is None or item.end is None:
        raise NoAudio(f"request {request_id} has no item {item_id} with a time to play")
    sound = None
    if request.source_kind == "meeting":
        sound = clip(runtime.settings.resolved_media_dir(), request.source_id,
                     item.start, item.end)  # fmt: skip
    if sound is None:
        raise NoAudio(f"no recording of {request.source_kind} {request.source_id} is kept")
    return Response(sound, media_type="audio/wav")


@router.post("/{request_id}/answer", response_model=AttributionPublic)
def answer(
    request_id: str,
    body: AttributionAnswer,
    runtime: RuntimeDep,
    caller: MemberCaller,
    background: BackgroundTasks,
) -> Any:
    """Say, for every item, whether it is yours ("me") or not ("not_me"). All yours:
    your words count (once you consent) and a meeting everyone named has confirmed is
    offered again. Any "not me": nothing is kept on this claim, and what was is withdrawn
    from published exports at once."""
    answers = {item: verdict == "me" for item, verdict in body.answers.items()}
    answered = runtime.service.answer_attribution(
        caller.principal, request_id, answers, via=caller.via
    )
    background.add_task(offer_again, runtime.service, runtime.offers, answered)
    return attribution_public(runtime, answered)
