"""My consent: the current notice (showing it is recorded), the visitor's state per
purpose, whether their words may be kept for training now, and their full receipt."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minutekeeper.api.deps import accepted_languages, get_runtime
from minutekeeper.api.pages.web import Viewer, render
from minutekeeper.consent import CONSENT_PURPOSES, NoticeVersion, Principal
from minutekeeper.consent.errors import UnknownNoticeVersion
from minutekeeper.runtime import Runtime

router = APIRouter(include_in_schema=False)

PURPOSES = {
    "train_ai_system": "Keeping your content to train AI models",
    "third_party_sharing": "Sharing your content with other companies",
    "essential.service": "Providing the service",
}
# The gate's reasons, as a person reads them.
REASONS = {
    "NO_CONSENT": "you have not agreed",
    "TENANT_AI_OFF": "your organisation has the AI features switched off",
    "TENANT_SHARING_OFF": "your organisation has training switched off",
    "TENANT_VENDOR_SHARING_OFF": "your organisation does not share with vendors",
    "REFUSED": "you refused",
    "WITHDRAWN": "you withdrew your consent",
    "EXPIRED": "your consent has expired",
    "INVALIDATED": "the notice changed, so you need to decide again",
    "NOTICE_VERSION_MISMATCH": "you agreed to an older notice; decide again on this one",
    "NOTICE_SCOPE_MISMATCH": "the notice you agreed to does not cover this",
    "SUBJECT_ERASED": "your data was erased",
}
# Said of a meeting with several people; the preview has only you in it.
UNSHOWN = frozenset({"NON_CONSENTING_CONTRIBUTOR", "NO_CONTRIBUTORS"})


@router.get("/consent", response_class=HTMLResponse)
def consent_page(request: Request, who: Viewer) -> Response:
    runtime = get_runtime(request)
    me = who.principal
    lang = request.query_params.get("lang", "")[:16]
    wanted = [lang] if lang else accepted_languages(request.headers.get("accept-language"))
    notice = _served_notice(runtime, me, wanted)
    decide = [p for p in notice.purposes if p in CONSENT_PURPOSES] if notice else []
    context = _status(runtime, me)
    return render(request, "consent.html", who, notice=notice, decide=decide, **context)


@router.get("/consent/status", response_class=HTMLResponse)
def consent_status(request: Request, who: Viewer) -> Response:
    """The state and receipt part of My consent, for the page to refresh after a click."""
    context = _status(get_runtime(request), who.principal)
    return render(request, "consent_status.html", who, **context)


def _served_notice(runtime: Runtime, me: Principal, wanted: list[str]) -> NoticeVersion | None:
    """The current notice in the first `wanted` language it is translated into, recorded as
    shown to `me` on the web in that language (None before one exists)."""
    try:
        version = runtime.service.current_notice(me.tenant_id, languages=wanted)
    except UnknownNoticeVersion:
        return None
    runtime.service.serve_notice(me, version, surface="web")
    return version


def _status(runtime: Runtime, me: Principal) -> dict[str, Any]:
    service = runtime.service
    current = {c.purpose: c for c in service.current(me)}
    preview = service.preview(me)
    return {
        "states": [
            {"purpose": p, "label": PURPOSES.get(p, p), "current": current.get(p)}
            for p in CONSENT_PURPOSES
        ],
        "purpose_names": PURPOSES,
        "training_now": preview.allowed,
        "reasons": [
            REASONS.get(r, r.replace("_", " ").lower()) for r in preview.reasons if r not in UNSHOWN
        ],
        "tenant": service.tenant(me.tenant_id),
        "history": service.history(me),
    }
