"""`/v1/attributions`: the requests asking you whether words attributed to you are yours,
and your answer, item by item. Only you see and answer your own requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks

from minutekeeper.api.deps import Anyone, MemberCaller, RuntimeDep
from minutekeeper.api.schemas import AttributionAnswer, AttributionPublic
from minutekeeper.consent import AttributionRequest
from minutekeeper.features.attribution import offer_when_confirmed
from minutekeeper.runtime import Runtime

router = APIRouter(prefix="/v1/attributions", tags=["attribution"])


def attribution_public(request: AttributionRequest) -> AttributionPublic:
    return AttributionPublic.model_validate(
        {**request.__dict__, "items": [item.__dict__ for item in request.items]}
    )


@router.get("", response_model=list[AttributionPublic])
def mine(runtime: RuntimeDep, me: Anyone) -> Any:
    """Your requests, newest first: words someone attributed to you by name."""
    return [attribution_public(r) for r in runtime.service.attribution_requests(me)]


@router.get("/{request_id}", response_model=AttributionPublic)
def one(request_id: str, runtime: RuntimeDep, me: Anyone) -> Any:
    """One of your requests, with only the words attributed to you."""
    return attribution_public(runtime.service.attribution_request(me, request_id))


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
    if answered.status == "confirmed" and answered.source_kind == "meeting":
        background.add_task(_offer_again, runtime, answered)
    return attribution_public(answered)


def _offer_again(runtime: Runtime, answered: AttributionRequest) -> None:
    offer_when_confirmed(runtime.service, runtime.offers, answered.tenant_id, answered.source_id)
