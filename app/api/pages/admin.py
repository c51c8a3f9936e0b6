"""Admin (switches, notices, consent counts: numbers only, never who decided what) and
Exports (the ML team's training exports)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minutekeeper.api.deps import get_runtime
from minutekeeper.api.pages.web import AdminViewer, ExporterViewer, render
from minutekeeper.consent import CONSENT_PURPOSES
from minutekeeper.consent.errors import UnknownNoticeVersion
from minutekeeper.consent.exports import export_tombstones, list_exports

router = APIRouter(include_in_schema=False)

SWITCHES = (
    ("ai_features_enabled", "AI features", "Transcripts, summaries and drafts for everyone."),
    (
        "training_sharing_enabled",
        "Training",
        "Allows keeping content as training data, for the people who agree (each decides).",
    ),
    (
        "vendor_sharing_enabled",
        "Sharing with vendors",
        "Allows sharing training data with other companies, for the people who agree.",
    ),
)
STATES = ("given", "renewed", "refused", "withdrawn", "expired", "invalidated", "undecided")


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, who: AdminViewer) -> Response:
    service = get_runtime(request).service
    tenant_id = who.tenant_id
    tenant = service.tenant(tenant_id)
    try:
        notice = service.current_notice(tenant_id)
    except UnknownNoticeVersion:
        notice = None
    counts = {p: service.consent_counts(tenant_id, p) for p in CONSENT_PURPOSES}
    switches = [
        {"name": n, "label": label, "help": text, "on": getattr(tenant, n)}
        for n, label, text in SWITCHES
    ]
    return render(
        request,
        "admin.html",
        who,
        tenant=tenant,
        switches=switches,
        notice=notice,
        counts=counts,
        states=STATES,
    )


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, who: ExporterViewer) -> Response:
    engine = get_runtime(request).engine
    exports = [
        {"info": info, "tombstones": len(export_tombstones(engine, who.tenant_id, info.id))}
        for info in list_exports(engine, who.tenant_id)
    ]
    return render(request, "exports.html", who, exports=exports)
