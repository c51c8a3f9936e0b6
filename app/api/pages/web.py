"""What every page shares: the templates and their filters, who is signed in, the
navigation their role allows, and the answers for a visitor who must sign in first or
whose role may not see a page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from minutekeeper.api.authn import SESSION_COOKIE
from minutekeeper.api.deps import get_runtime, session_policy
from minutekeeper.api.sessions import session_token
from minutekeeper.api.tokens import TokenInfo
from minutekeeper.consent import Role
from minutekeeper.core.errors import AppError

# The real folder: an editable install runs this module from a tree of links, and the
# static files server refuses a file whose link leads outside the folder it serves.
API_DIR = Path(__file__).resolve().parent.parent
MEMBERS = (Role.MEMBER, Role.ADMIN)
# Every script and style is a file of this server's: no inline code, nothing from elsewhere.
CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
NAV: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("/consent", "My consent", ()),
    ("/attributions", "My words", MEMBERS),
    ("/meetings", "Meetings", MEMBERS),
    ("/compose", "Compose", MEMBERS),
    ("/admin", "Admin", (Role.ADMIN,)),
    ("/exports", "Exports", (Role.ML_EXPORTER,)),
)
ROLE_NAMES = {Role.MEMBER: "member", Role.ADMIN: "admin", Role.ML_EXPORTER: "ML exporter"}


def start_page(who: TokenInfo) -> str:
    """Where a signed-in visitor starts: the page their role works in (Meetings; Exports
    for an ML exporter), not the long notice of My consent."""
    return "/exports" if who.role is Role.ML_EXPORTER else "/meetings"


def clock(seconds: float | None) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on."""
    total = int(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


templates = Jinja2Templates(directory=API_DIR / "templates")
templates.env.filters["clock"] = clock
templates.env.filters["when"] = when


class PageStop(Exception):
    """A page's dependency answers with `response` instead of the page."""

    def __init__(self, response: Response) -> None:
        super().__init__("page answered early")
        self.response = response


def signed_in(request: Request) -> TokenInfo | None:
    """The token the session cookie's session signs in as, while both are valid."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    engine = get_runtime(request).engine
    try:
        return session_token(engine, session_id, policy=session_policy(request))
    except AppError:
        return None


def nav_for(who: TokenInfo | None, path: str) -> list[dict[str, Any]]:
    if who is None:
        return []
    return [
        {"href": href, "label": label, "current": path == href or path.startswith(href + "/")}
        for href, label, roles in NAV
        if not roles or who.role in roles
    ]


def _display_name(request: Request, who: TokenInfo | None) -> str:
    if who is None:
        return ""
    try:
        subject = get_runtime(request).service.find_subject(who.tenant_id, who.subject_id)
    except AppError:
        return who.name
    return subject.display_name or who.name


def render(
    request: Request, name: str, who: TokenInfo | None, *, status_code: int = 200, **context: Any
) -> Response:
    """A page (or fragment) for `who`; never cached, since it shows their own data."""
    values = {
        "who": who,
        "who_name": _display_name(request, who),
        "nav": nav_for(who, request.url.path),
        "role_names": ROLE_NAMES,
    }
    response = templates.TemplateResponse(
        request, name, {**values, **context}, status_code=status_code
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def viewer(*roles: Role) -> Callable[[Request], TokenInfo]:
    """A dependency: the signed-in visitor if their role may see the page (any role when
    none are named); else the sign-in page, or a 403 page that says who may."""

    def check(request: Request) -> TokenInfo:
        who = signed_in(request)
        if who is None:
            to_signin = RedirectResponse("/signin", status_code=303)
            if SESSION_COOKIE in request.cookies:  # ended, expired, or from before sessions
                to_signin.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
            raise PageStop(to_signin)
        if roles and who.role not in roles:
            needs = " or ".join(ROLE_NAMES[r] for r in roles)
            page = render(request, "forbidden.html", who, status_code=403, needs=needs)
            raise PageStop(page)
        return who

    return check


Viewer = Annotated[TokenInfo, Depends(viewer())]
MemberViewer = Annotated[TokenInfo, Depends(viewer(*MEMBERS))]
AdminViewer = Annotated[TokenInfo, Depends(viewer(Role.ADMIN))]
ExporterViewer = Annotated[TokenInfo, Depends(viewer(Role.ML_EXPORTER))]


def not_found(request: Request, who: TokenInfo, what: str) -> Response:
    return render(request, "not_found.html", who, status_code=404, what=what)
