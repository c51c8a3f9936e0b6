"""`GET /v1/search` on SQLite (FTS5) and PostgreSQL (tsvector): hits in the caller's own
meetings and those shared with them, never another member's; each hit links to its
moment; the index follows a rename, a deletion and an erasure; what a person types is
searched for as words, never parsed as the engines' query language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minutekeeper.consent.domain import Role
from minutekeeper.features.erasure import erase_person
from tests.integration.api_support import Api
from tests.integration.test_consent_attacks import answer, requests, spoken, uploaded_meeting

EXAMPLES = Path(__file__).parents[2] / "examples"
ALICE_SAYS = spoken(
    ("Alice", "We move calendar sync to January."),
    ("Carol", "The quorbex migration needs two more weeks."),
    ("Alice", "Let's go with a single annual plan."),
)
BOB_SAYS = spoken(("Bob", "Calendar sync is my secret side project."), ("Bob", "Zimbrel."))
# Typed by a person: FTS5 and tsquery syntax, SQL, quotes. Each is searched as words.
TYPED = [
    '"', '""', "'", '"calendar', 'calendar"', "calendar*", "-calendar", "^calendar",
    "NEAR(calendar sync)", "NEAR(calendar sync, 2)", "text:calendar", "{text}: calendar",
    "calendar AND NOT sync", "calendar OR zimbrel", "calendar & !sync", "calendar | zimbrel",
    "calendar <-> sync", "'; DROP TABLE meetings; --", "calendar) OR (1=1", "(", "*", ":*",
    "calendar\x00sync", "c'a'l'e'n'd'a'r", "\\calendar", "%", "_", "calendar:*",
]  # fmt: skip


@pytest.fixture
def people(api: Api) -> Api:
    for name in ("Alice", "Bob", "Carol"):
        api.add_person("acme", name, Role.MEMBER)
    return api


def search(api: Api, who: str, q: str, **params: Any) -> Any:
    return api.client.get("/v1/search", params={"q": q, **params}, headers=api.auth("acme", who))


def hits(api: Api, who: str, q: str, **params: Any) -> list[dict[str, Any]]:
    reply = search(api, who, q, **params)
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["items"]
    return found


def test_a_search_finds_words_in_your_meetings_with_a_link_to_their_moment(
    people: Api,
) -> None:
    api = people
    mine = uploaded_meeting(api, "Alice", ALICE_SAYS)
    theirs = uploaded_meeting(api, "Bob", BOB_SAYS)
    found = hits(api, "Alice", "calendar sync")
    assert found and {h["meeting_id"] for h in found} == {mine}  # never Bob's words
    said = next(h for h in found if h["kind"] == "transcript")
    assert said["speaker"] == "Alice" and said["start"] == 0.0 and said["at"] == "00:00"
    assert said["link"] == f"/meetings/{mine}#s0001" and said["role"] == "owner"
    # The words around it (PostgreSQL's headline leaves the closing full stop out).
    assert said["snippet"].rstrip(".") == "We move calendar sync to January"
    marked = [said["snippet"][a:b] for a, b in said["highlights"]]
    assert [m.lower() for m in marked] == ["calendar", "sync"] or marked == ["calendar sync"]
    # The summary's items are found too, each linking to the moment it cites first.
    summarized = [h for h in found if h["kind"] == "summary"]
    assert summarized and all(h["link"].startswith(f"/meetings/{mine}#s") for h in summarized)
    assert all(h["start"] is not None and h["section"] for h in summarized)
    # Words match their other forms; a quoted phrase must be said as written.
    assert hits(api, "Alice", "moving") and hits(api, "Alice", '"annual plan"')
    assert hits(api, "Alice", '"plan annual"') == []
    assert hits(api, "Bob", "zimbrel")[0]["meeting_id"] == theirs
    assert hits(api, "Alice", "zimbrel") == [] and hits(api, "Carol", "calendar") == []


def test_a_meeting_shared_with_you_is_searched_once_you_confirm_your_words(people: Api) -> None:
    api = people
    meeting = uploaded_meeting(api, "Alice", ALICE_SAYS)  # names Carol
    assert hits(api, "Carol", "quorbex") == []
    (request,) = requests(api, "Carol")
    assert hits(api, "Carol", "quorbex") == []  # named is not shared
    assert answer(api, "Carol", request, "me").json()["status"] == "confirmed"
    found = hits(api, "Carol", "quorbex")
    assert [(h["meeting_id"], h["role"]) for h in found] == [(meeting, "participant")]
    assert hits(api, "Bob", "quorbex") == []


def test_typed_query_syntax_is_searched_as_words_never_parsed(people: Api) -> None:
    api = people
    mine = uploaded_meeting(api, "Alice", ALICE_SAYS)
    uploaded_meeting(api, "Bob", BOB_SAYS)
    for typed in TYPED:
        reply = search(api, "Alice", typed)
        assert reply.status_code in (200, 422), (typed, reply.status_code, reply.text)
        if reply.status_code == 422:
            assert reply.json()["error"]["code"] == "invalid_input", (typed, reply.text)
            continue
        assert {h["meeting_id"] for h in reply.json()["items"]} <= {mine}, typed
    # Operators are words like any other: all of them must be found, none widens a search.
    assert hits(api, "Alice", "calendar OR zimbrel") == []
    assert hits(api, "Alice", "calendar | zimbrel") == []
    assert hits(api, "Alice", "calendar*") == hits(api, "Alice", "calendar")
    assert hits(api, "Alice", "text:calendar") == []  # no column filter: "text" is a word


@pytest.mark.parametrize(
    ("q", "why"),
    [("", "q: String should have at least 1 character"), ("   ", "empty"),
     ("x" * 201, "q: String should have at most 200 characters"), ("!?", "no words")],
)  # fmt: skip
def test_an_empty_wordless_or_too_long_query_is_refused(people: Api, q: str, why: str) -> None:
    reply = search(people, "Alice", q)
    assert reply.status_code == 422 and why in reply.json()["error"]["message"], reply.text


def test_hits_come_a_page_at_a_time(people: Api) -> None:
    api = people
    first = uploaded_meeting(api, "Alice", ALICE_SAYS)
    again = spoken(("Alice", "Calendar sync again."), ("Alice", "Calendar sync once more."))
    second = uploaded_meeting(api, "Alice", again)
    everything = hits(api, "Alice", "calendar", limit=500)
    assert [h["meeting_id"] for h in everything][:1] == [second]  # newest meeting first
    assert {h["meeting_id"] for h in everything} == {first, second}
    paged, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = search(api, "Alice", "calendar", **params).json()
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [h["id"] for h in paged] == [h["id"] for h in everything]
    for cursor in ("abc", "999999", everything[0]["id"] + "x"):
        reply = search(api, "Alice", "calendar", cursor=cursor)
        assert reply.status_code == 422, (cursor, reply.text)
    # Another person's hit is no cursor of yours.
    bobs = uploaded_meeting(api, "Bob", BOB_SAYS)
    (theirs, *_) = hits(api, "Bob", "calendar")
    assert theirs["meeting_id"] == bobs
    assert search(api, "Alice", "calendar", cursor=theirs["id"]).status_code == 422


def test_the_index_follows_a_rename_a_deletion_and_an_erasure(people: Api) -> None:
    api = people
    meeting = uploaded_meeting(api, "Alice", ALICE_SAYS)
    shown = api.client.get(f"/v1/meetings/{meeting}", headers=api.auth("acme", "Alice")).json()
    label = next(s["id"] for s in shown["transcript"]["speakers"] if s["name"] == "Carol")
    renamed = api.client.patch(f"/v1/meetings/{meeting}/speakers",
                               json={"names": {label: "Dana"}},
                               headers=api.auth("acme", "Alice"))  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    said = [h for h in hits(api, "Alice", "quorbex") if h["kind"] == "transcript"]
    assert [h["speaker"] for h in said] == ["Dana"]
    # Dana's words erased: gone from the transcript, and so from the index.
    erase_person(api.runtime.service, api.people["acme", "Alice"].tenant_id, "Dana",
                 actor_id=api.people["acme", "Alice"].subject_id)  # fmt: skip
    assert hits(api, "Alice", "quorbex") == [] and hits(api, "Alice", "calendar")
    deleted = api.client.delete(f"/v1/meetings/{meeting}", headers=api.auth("acme", "Alice"))
    assert deleted.status_code == 204, deleted.text
    assert hits(api, "Alice", "calendar") == []


def test_a_deleted_meetings_words_leave_the_index_file(api: Api, database_url: str) -> None:
    """SQLite's FTS5 keeps a removed row's words in its older segments until they are
    merged: a deletion merges them, so no file holds them (PostgreSQL: VACUUM's to do)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL server's files are its own; dead rows wait for VACUUM")
    api.add_person("acme", "Alice", Role.MEMBER)
    word = "zyxquorbium"  # a word Porter leaves as it is (the index holds stems), said once
    kept = uploaded_meeting(
        api, "Alice", spoken(*[("Alice", f"Item {i} is fine.") for i in range(5)])
    )
    meeting = uploaded_meeting(api, "Alice", spoken(("Alice", f"The code name is {word}.")))
    database = Path(database_url.removeprefix("sqlite:///"))

    def holding() -> list[str]:  # the database file and its write-ahead log
        files = database.parent.glob(database.name + "*")
        return [f.name for f in files if word.encode() in f.read_bytes()]

    assert hits(api, "Alice", word) and holding()
    assert api.client.delete(f"/v1/meetings/{meeting}",
                             headers=api.auth("acme", "Alice")).status_code == 204  # fmt: skip
    assert hits(api, "Alice", word) == [] and hits(api, "Alice", "fine")[0]["meeting_id"] == kept
    assert holding() == []
