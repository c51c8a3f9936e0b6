"""Lists come a page at a time (SQLite and PostgreSQL): `limit` (100 unless asked, 500 at
most) items and a `next_cursor` to send back for the next page, until it is null. Paging
through gives every item once, in the list's order, even while items are being added; a
cursor that is not an item of the caller's list (another tenant's, say) is refused as any
unknown one is."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from minutekeeper.core.db import utcnow
from minutekeeper.features.meetings.store import save_meeting
from minutekeeper.features.transcription.transcript import Transcript
from tests.integration.api_support import Api

SUBJECTS = "/v1/admin/subjects"


def add_guests(api: Api, tenant: str, count: int, *, start: int = 0) -> None:
    """`count` guests in one write, as a meeting's names are (the cheap way to a crowd)."""
    tenant_id = api.people[tenant, "admin"].tenant_id
    names = [f"Guest {tenant} {i:04d}" for i in range(start, start + count)]
    api.runtime.service.subjects_for_names(tenant_id, names)


def everyone(api: Api, tenant: str = "acme") -> list[str]:
    tenant_id = api.people[tenant, "admin"].tenant_id
    return [s.id for s in api.runtime.service.subjects(tenant_id)]


def page(api: Api, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    reply = api.client.get(path, params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def all_pages(
    api: Api, path: str, headers: dict[str, str], limit: int, cursor: str | None = None
) -> list[dict[str, Any]]:
    """Every item from `cursor` on (the start without one), following `next_cursor`."""
    items: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = page(api, path, headers, **params)
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_admin_subjects_come_a_page_at_a_time_and_every_one_once(api: Api) -> None:
    add_guests(api, "acme", 250)
    admin = api.auth("acme", "admin")
    people = everyone(api)
    assert len(people) > 250
    first = page(api, SUBJECTS, admin)
    assert len(first["items"]) == 100  # the default
    assert first["next_cursor"] == first["items"][-1]["id"]
    paged = all_pages(api, SUBJECTS, admin, limit=40)
    assert [s["id"] for s in paged] == people  # oldest first, each once
    assert all(s["kind"] in ("member", "guest") for s in paged)
    last = page(api, SUBJECTS, admin, limit=500)
    assert len(last["items"]) == len(people) and last["next_cursor"] is None
    for bad in (0, 501, -1):
        refused = api.client.get(SUBJECTS, params={"limit": bad}, headers=admin)
        assert refused.status_code == 422, bad


def test_a_cursor_not_in_the_callers_list_is_refused_alike_whoever_it_names(api: Api) -> None:
    theirs = everyone(api, "globex")[0]  # a subject of another tenant
    missing = str(uuid.uuid4())
    shapes = []
    for cursor in (theirs, missing):
        reply = api.client.get(
            SUBJECTS, params={"cursor": cursor}, headers=api.auth("acme", "admin")
        )
        error = reply.json()["error"]
        shapes.append((reply.status_code, error["code"], error["message"].replace(cursor, "<c>")))
    assert shapes[0] == shapes[1] and shapes[0][0] == 422, shapes


def test_guests_added_while_an_admin_pages_are_neither_skipped_nor_repeated(api: Api) -> None:
    add_guests(api, "acme", 30)
    admin = api.auth("acme", "admin")
    first = page(api, SUBJECTS, admin, limit=10)
    add_guests(api, "acme", 5, start=30)  # newer: they belong at the end
    rest = all_pages(api, SUBJECTS, admin, limit=10, cursor=first["next_cursor"])
    seen = [s["id"] for s in first["items"] + rest]
    assert seen == everyone(api)


def test_meetings_come_newest_first_a_page_at_a_time(api: Api) -> None:
    me = api.people["acme", "member"]
    empty = Transcript(segments=(), speakers=(), duration=0.0, source="test")
    made = []
    for n in range(5):
        when = utcnow() - timedelta(hours=5 - n)
        info = save_meeting(
            api.runtime.engine,
            tenant_id=me.tenant_id,
            owner_id=me.subject_id,
            title=f"Meeting {n}",
            transcript=empty,
            clock=lambda w=when: w,
        )
        made.append(info.id)
    member = api.auth("acme", "member")
    first = page(api, "/v1/meetings", member, limit=2)
    newer = save_meeting(api.runtime.engine, tenant_id=me.tenant_id, owner_id=me.subject_id,
                         title="Newest", transcript=empty).id  # fmt: skip
    rest = all_pages(api, "/v1/meetings", member, limit=2, cursor=first["next_cursor"])
    assert [m["id"] for m in first["items"] + rest] == made[::-1]  # the newest added: not yet
    assert page(api, "/v1/meetings", member)["items"][0]["id"] == newer
    assert page(api, "/v1/meetings", api.auth("acme", "member2"))["items"] == []
