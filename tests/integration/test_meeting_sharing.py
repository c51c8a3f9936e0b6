"""A meeting is shared with each member who confirmed that words in it are theirs, for as
long as that confirmation stands, and with no one else: a typed name shares nothing, a
rename away ends it, a guest never sees it. The person it is shared with reads it (list,
page, transcript, summary, recording, questions, search) but only its owner renames its
speakers or deletes it. Through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from minutekeeper.consent.domain import Role
from tests.integration.api_support import Api
from tests.integration.test_consent_attacks import answer, requests, spoken, uploaded_meeting

SECRET = "The salary budget is forty thousand."
MEETING = spoken(
    ("Alice", "We ship the release on Thursday."),
    ("Bob", SECRET),
    ("Alice", "I will write the announcement."),
)
READS = ("", "/transcript", "/summary", "/transcript?format=vtt")


@pytest.fixture
def people(api: Api) -> Api:
    for name in ("Alice", "Bob", "Carol"):
        api.add_person("acme", name, Role.MEMBER)
    return api


def as_(api: Api, who: str) -> dict[str, str]:
    return api.auth("acme", who)


def listed(api: Api, who: str) -> dict[str, dict[str, Any]]:
    reply = api.client.get("/v1/meetings", headers=as_(api, who))
    assert reply.status_code == 200, reply.text
    return {m["id"]: m for m in reply.json()["items"]}


def found(api: Api, who: str, q: str) -> list[dict[str, Any]]:
    reply = api.client.get("/v1/search", params={"q": q}, headers=as_(api, who))
    assert reply.status_code == 200, reply.text
    hits: list[dict[str, Any]] = reply.json()["items"]
    return hits


def sees(api: Api, who: str, meeting: str) -> bool:
    """Whether `who` reads the meeting, every way; all or nothing, else the test fails."""
    statuses = {
        path: api.client.get(f"/v1/meetings/{meeting}{path}", headers=as_(api, who)).status_code
        for path in READS
    }
    asked = api.client.post(f"/v1/meetings/{meeting}/ask", json={"question": "What is the "
                            "salary budget?"}, headers=as_(api, who))  # fmt: skip
    statuses["ask"] = asked.status_code
    in_list = meeting in listed(api, who)
    in_search = any(h["meeting_id"] == meeting for h in found(api, who, "salary budget"))
    if set(statuses.values()) == {200} and in_list and in_search:
        return True
    assert set(statuses.values()) == {404} and not in_list and not in_search, (who, statuses)
    return False


def rename(api: Api, who: str, meeting: str, names: dict[str, str]) -> Any:
    return api.client.patch(f"/v1/meetings/{meeting}/speakers", json={"names": names},
                            headers=as_(api, who))  # fmt: skip


def label_of(api: Api, meeting: str, name: str) -> str:
    shown = api.client.get(f"/v1/meetings/{meeting}", headers=as_(api, "Alice")).json()
    return next(s["id"] for s in shown["transcript"]["speakers"] if s["name"] == name)


def test_a_named_member_sees_the_meeting_only_while_their_confirmation_stands(
    people: Api,
) -> None:
    api = people
    meeting = uploaded_meeting(api, "Alice", MEETING)  # Alice's voice tag names Bob
    assert sees(api, "Alice", meeting)
    # Named is not shared: Bob is asked, and sees nothing until he answers.
    (request,) = requests(api, "Bob")
    assert request["status"] == "pending"
    assert not sees(api, "Bob", meeting) and not sees(api, "Carol", meeting)
    assert answer(api, "Bob", request, "me").json()["status"] == "confirmed"
    assert sees(api, "Bob", meeting) and not sees(api, "Carol", meeting)
    shared = listed(api, "Bob")[meeting]
    assert (shared["role"], shared["shared_by"]) == ("participant", "Alice")
    assert (listed(api, "Alice")[meeting]["role"], listed(api, "Alice")[meeting]["shared_by"]) == (
        "owner",
        None,
    )
    assert {h["role"] for h in found(api, "Bob", "salary")} == {"participant"}
    # Reading is all Bob does: renaming its speakers and deleting it stay Alice's.
    label = label_of(api, meeting, "Bob")
    refused = rename(api, "Bob", meeting, {label: "Carol"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    kept = api.client.delete(f"/v1/meetings/{meeting}", headers=as_(api, "Bob"))
    assert kept.status_code == 403 and kept.json()["error"]["code"] == "forbidden"
    assert api.client.get(f"/v1/meetings/{meeting}", headers=as_(api, "Alice")).status_code == 200
    # A rename away voids his confirmation: the meeting is gone for him at once, and the
    # request closed, so answering it again brings nothing back.
    assert rename(api, "Alice", meeting, {label: "Carol"}).status_code == 200
    assert not sees(api, "Bob", meeting) and not sees(api, "Carol", meeting)
    assert answer(api, "Bob", request, "me").status_code == 409
    assert not sees(api, "Bob", meeting)
    # Named again, he is asked again; his old answer counts for nothing.
    assert rename(api, "Alice", meeting, {label: "Bob"}).status_code == 200
    (again,) = requests(api, "Bob")
    assert again["status"] == "pending" and not sees(api, "Bob", meeting)
    assert answer(api, "Bob", again, "me").json()["status"] == "confirmed"
    assert sees(api, "Bob", meeting)
    # Taking it back ("not_me") ends it too.
    assert answer(api, "Bob", again, "not_me").json()["status"] == "rejected"
    assert not sees(api, "Bob", meeting)


def test_a_typed_name_shares_nothing_with_a_guest_or_a_member_who_said_not_me(
    people: Api,
) -> None:
    api = people
    said = spoken(("Alice", "Hello."), ("Carol", SECRET), ("Dave", "The venue is booked."))
    meeting = uploaded_meeting(api, "Alice", said)  # Dave is no member: a guest
    (request,) = requests(api, "Carol")
    assert answer(api, "Carol", request, "not_me").json()["status"] == "rejected"
    assert not sees(api, "Carol", meeting) and not sees(api, "Bob", meeting)
    # Dave made a member later holds no confirmation: still nothing.
    api.add_person("acme", "Dave", Role.MEMBER)
    assert not sees(api, "Dave", meeting)
    # Another tenant's member of the same name neither.
    api.add_person("globex", "Carol", Role.MEMBER)
    reply = api.client.get(f"/v1/meetings/{meeting}", headers=api.auth("globex", "Carol"))
    assert reply.status_code == 404


def test_a_deleted_meeting_is_gone_for_the_person_it_was_shared_with(
    people: Api,
) -> None:
    api = people
    meeting = uploaded_meeting(api, "Alice", MEETING)
    (request,) = requests(api, "Bob")
    answer(api, "Bob", request, "me")
    assert sees(api, "Bob", meeting)
    deleted = api.client.delete(f"/v1/meetings/{meeting}", headers=as_(api, "Alice"))
    assert deleted.status_code == 204, deleted.text
    assert listed(api, "Bob") == {} and found(api, "Bob", "salary") == []
    assert api.client.get(f"/v1/meetings/{meeting}", headers=as_(api, "Bob")).status_code == 404
