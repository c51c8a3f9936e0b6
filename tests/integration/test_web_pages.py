"""The web pages at the TestClient level: signing in and out, My consent (the notice shown
is recorded; decisions through the cookie need this server's Origin), the admin page's
counts, role-limited pages and navigation, and meetings that stay their owner's."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from markupsafe import escape

from minutekeeper.api.authn import SESSION_COOKIE
from minutekeeper.consent.domain import Role
from minutekeeper.consent.notices import last_served, load_notice_file
from minutekeeper.core.db import read_transaction
from tests.integration.api_support import Api


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the pages render what the API returns, and the API's database behaviour is
    tested on both databases elsewhere; the suite must stay inside CI's time."""
    return f"sqlite:///{tmp_path / 'minutekeeper.db'}"


EXAMPLES = Path(__file__).parents[2] / "examples"
SAME_ORIGIN = {"Origin": "http://testserver"}
PAGES = ("/consent", "/attributions", "/meetings", "/compose", "/admin", "/exports")
# Where signing in lands: the page each role works in, never the long notice.
START = {"member": "/meetings", "member2": "/meetings", "admin": "/meetings",
         "ml_exporter": "/exports"}  # fmt: skip


def sign_in(api: Api, who: str = "member", tenant: str = "acme") -> None:
    api.client.cookies.clear()
    response = api.client.post(
        "/signin",
        data={"token": api.tokens[tenant, who]},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == START[who]


def notice_id_on(page: str) -> str:
    found = re.search(r'data-notice="([0-9a-f-]{36})"', page)
    assert found, "the page offers no decision on a notice"
    return found.group(1)


def decide(api: Api, decision: str, notice_id: str, **headers: str) -> int:
    body = {"decision": decision, "notice_version_id": notice_id}
    return api.client.post("/v1/consent", json=body, headers=headers).status_code


def test_signing_in_sets_a_strict_httponly_cookie_and_signing_out_clears_it(api: Api) -> None:
    response = api.client.post(
        "/signin",
        data={"token": api.tokens["acme", "member"]},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/meetings"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = api.client.get("/consent")
    assert page.status_code == 200 and "acme-member" in page.text and "Sign out" in page.text
    api.client.post("/signout", headers=SAME_ORIGIN, follow_redirects=False)
    assert SESSION_COOKIE not in api.client.cookies
    again = api.client.get("/consent", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/signin"


@pytest.mark.parametrize(("who", "heading"), [("member", "Meetings"), ("admin", "Meetings"),
                                             ("ml_exporter", "Training exports")])  # fmt: skip
def test_signing_in_lands_on_the_page_the_role_works_in_and_follows_no_other_site(
    api: Api, who: str, heading: str
) -> None:
    api.client.cookies.clear()
    # A `next` naming another site, in the form or the address, is not followed.
    for elsewhere in ("//evil.example", "https://evil.example/", "/\\evil.example"):
        landed = api.client.post(f"/signin?next={elsewhere}",
                                 data={"token": api.tokens["acme", who], "next": elsewhere},
                                 headers=SAME_ORIGIN, follow_redirects=False)  # fmt: skip
        assert landed.status_code == 303 and landed.headers["location"] == START[who]
    page = api.client.get(START[who])
    assert page.status_code == 200 and f"<h1>{heading}</h1>" in page.text
    home = api.client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == START[who]
    assert 'href="/">Go on</a>' in api.client.get("/signin").text


def test_a_bad_token_shows_an_error_and_sets_no_cookie(api: Api) -> None:
    response = api.client.post(
        "/signin", data={"token": "mk_000000000000_wrong"}, headers=SAME_ORIGIN
    )
    assert response.status_code == 401
    assert 'role="alert"' in response.text and "Sign-in failed" in response.text
    assert "set-cookie" not in response.headers and SESSION_COOKIE not in api.client.cookies


def test_every_page_sends_a_visitor_without_a_session_to_sign_in(api: Api) -> None:
    for path in (*PAGES, "/meetings/some-id", "/consent/status", "/"):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/signin", path


def test_my_consent_shows_the_notice_and_records_that_it_was_served(api: Api) -> None:
    sign_in(api)
    me = api.people["acme", "member"]
    version = api.runtime.service.current_notice(me.tenant_id)
    assert decide(api, "given", version.id, **SAME_ORIGIN) == 409  # never shown: refused
    page = api.client.get("/consent")
    assert page.status_code == 200
    assert str(escape(load_notice_file(None).title)) in page.text
    assert "Keeping your meeting content" in page.text and "Examples are deleted" in page.text
    assert notice_id_on(page.text) == version.id
    with read_transaction(api.runtime.engine) as conn:
        served = last_served(conn, subject_id=me.subject_id, version_id=version.id)
    assert served.surface == "web"
    assert decide(api, "given", version.id, **SAME_ORIGIN) == 201  # shown: giving works
    for decision in ("given", "refused", "withdrawn"):
        assert f'data-decision="{decision}"' in page.text


def test_decisions_through_the_cookie_need_this_servers_origin(api: Api) -> None:
    sign_in(api)
    notice_id = notice_id_on(api.client.get("/consent").text)
    assert decide(api, "given", notice_id) == 403
    assert decide(api, "given", notice_id, Origin="http://evil.example") == 403
    assert decide(api, "given", notice_id, Referer="http://evil.example/consent") == 403
    assert api.runtime.service.history(api.people["acme", "member"]) == []
    assert decide(api, "given", notice_id, **SAME_ORIGIN) == 201
    status = api.client.get("/consent/status").text
    assert '<td class="state">given</td>' in status and "Yes: your words may be kept" in status
    assert decide(api, "withdrawn", notice_id, Referer="http://testserver/consent") == 201
    status = api.client.get("/consent/status").text
    assert "No: your words are not kept for training now (you withdrew" in status
    receipt = api.client.get("/v1/consent/me/history").json()["events"]
    assert [e["state"] for e in receipt] == ["given", "withdrawn"]
    rows = re.findall(r'<td class="state">(\w+)</td>', status.split("Your receipt")[1])
    assert rows == ["given", "withdrawn"]
    assert all(e["entry_hash"] in status for e in receipt)


def test_the_admin_page_is_403_for_a_member_and_shows_only_counts_to_an_admin(api: Api) -> None:
    sign_in(api, "member")
    notice_id = notice_id_on(api.client.get("/consent").text)
    assert decide(api, "given", notice_id, **SAME_ORIGIN) == 201
    forbidden = api.client.get("/admin")
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("text/html")
    assert "This page is for the admin role" in forbidden.text
    sign_in(api, "admin")
    page = api.client.get("/admin")
    assert page.status_code == 200
    counts = api.runtime.service.consent_counts(api.people["acme", "admin"].tenant_id)
    assert counts["given"] == 1
    train_row = page.text.split('<th scope="row">train_ai_system</th>')[1].split("</tr>")[0]
    assert '<td data-state="given">1</td>' in train_row
    assert f'<td data-state="undecided">{counts["undecided"]}</td>' in train_row
    for person in ("member", "member2"):  # counts only: nobody is named
        subject = api.people["acme", person]
        assert subject.subject_id not in page.text and f"acme-{person}" not in page.text
    assert 'data-field="training_sharing_enabled"' in page.text


def test_the_navigation_and_pages_follow_the_role(api: Api) -> None:
    allowed = {
        "member": {"/consent", "/attributions", "/meetings", "/compose"},
        "admin": {"/consent", "/attributions", "/meetings", "/compose", "/admin"},
        "ml_exporter": {"/consent", "/exports"},
    }
    for role, pages in allowed.items():
        sign_in(api, role)
        nav = api.client.get("/consent").text.split('<nav aria-label="Main">')[1]
        nav = nav.split("</nav>")[0]
        assert set(re.findall(r'href="(/[a-z]+)"', nav)) == pages, role
        for path in PAGES:
            status = api.client.get(path).status_code
            assert status == (200 if path in pages else 403), (role, path)


def test_the_exports_page_lists_nothing_before_the_first_export(api: Api) -> None:
    sign_in(api, "ml_exporter")
    page = api.client.get("/exports")
    assert page.status_code == 200 and "No exports yet." in page.text
    assert 'id="create-export"' in page.text


def test_pages_allow_only_this_servers_scripts_and_are_never_cached(api: Api) -> None:
    sign_in(api)
    page = api.client.get("/consent")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # every script is a file, none inline
    for script in re.findall(r'<script src="(/static/[a-z]+\.js)">', page.text):
        assert api.client.get(script).status_code == 200


def _own_meeting(api: Api, title: str) -> str:
    with (EXAMPLES / "meeting.vtt").open("rb") as handle:
        accepted = api.client.post(
            "/v1/meetings",
            files={"recording": ("meeting.vtt", handle, "text/vtt")},
            data={"title": title},
            headers=api.auth("acme", "member"),
        )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job"]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = api.client.get(f"/v1/jobs/{job_id}", headers=api.auth()).json()
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job
            return str(accepted.json()["meeting_id"])
        time.sleep(0.1)
    raise AssertionError("the meeting job did not finish in 60 s")


def test_a_meeting_page_links_each_citation_to_its_transcript_moment(api: Api) -> None:
    meeting_id = _own_meeting(api, "Roadmap review")
    sign_in(api)
    listing = api.client.get("/meetings").text
    assert f'href="/meetings/{meeting_id}">Roadmap review</a>' in listing
    page = api.client.get(f"/meetings/{meeting_id}").text
    meeting = api.client.get(f"/v1/meetings/{meeting_id}").json()
    segments = {s["id"]: s for s in meeting["transcript"]["segments"]}
    cited = re.findall(r'<a class="cite" href="#(s\d+)" data-start="([\d.]+)"', page)
    assert cited and all(sid in segments for sid, _ in cited)
    for sid, start in cited:  # a citation's moment is its sentence's, inside the segment
        assert segments[sid]["start"] - 0.01 <= float(start) <= segments[sid]["end"] + 0.01
    assert all(f'<li id="{sid}" class="segment"' in page for sid in segments)
    assert "<h3>Decisions</h3>" in page and "<audio" not in page  # a subtitle file: no audio
    for speaker in meeting["transcript"]["speakers"]:
        assert f'data-speaker="{speaker["id"]}"' in page
    assert f'<option value="{meeting_id}">Roadmap review' in api.client.get("/compose").text
    short = api.client.get(f"/meetings/{meeting_id[:8]}")
    assert short.status_code == 404  # a page's address is the whole id, never a prefix


def test_no_page_shows_another_members_meeting(api: Api) -> None:
    meeting_id = _own_meeting(api, "Secret roadmap")
    said = api.client.get(f"/v1/meetings/{meeting_id}", headers=api.auth()).json()
    words = said["transcript"]["segments"][0]["text"]
    for tenant, person in (("acme", "member2"), ("acme", "admin"), ("globex", "member")):
        sign_in(api, person, tenant)
        searched = f"/meetings?q={words.split()[0]}"
        for path in ("/meetings", "/compose", f"/meetings/{meeting_id}", "/consent", searched):
            page = api.client.get(path)
            assert "Secret roadmap" not in page.text and words not in page.text, (person, path)
            assert meeting_id not in page.text, (person, path)
        missing = api.client.get(f"/meetings/{meeting_id}")
        assert missing.status_code == 404 and "No such meeting" in missing.text


def test_the_meetings_page_searches_and_links_each_hit_to_its_moment(api: Api) -> None:
    meeting_id = _own_meeting(api, "Roadmap review")
    sign_in(api)
    page = api.client.get("/meetings", params={"q": "calendar sync"}).text
    hits = re.findall(r'<li class="hit" data-kind="(\w+)">\s*<a class="hit-link" '
                      r'href="([^"]+)">([^<]+)</a>', page)  # fmt: skip
    assert hits and {kind for kind, _, _ in hits} == {"summary", "transcript"}
    assert all(href.startswith(f"/meetings/{meeting_id}#s") for _, href, _ in hits)
    assert ("transcript", f"/meetings/{meeting_id}#s0004", "Roadmap review at 00:18") in hits
    assert "<mark>calendar</mark> <mark>sync</mark>" in page
    assert 'value="calendar sync"' in page  # the box keeps what was typed
    for typed, says in (("!?", "no words to search for"), ("nothing here", "Nothing found")):
        shown = api.client.get("/meetings", params={"q": typed})
        assert shown.status_code == 200 and says in shown.text, typed
    markup = api.client.get("/meetings", params={"q": '<b>calendar</b> "sync'}).text
    assert "<b>calendar</b>" not in markup and "&lt;b&gt;calendar&lt;/b&gt;" in markup


def test_a_meeting_shared_with_a_participant_shows_without_the_owners_controls(
    api: Api,
) -> None:
    meeting_id = _own_meeting(api, "Roadmap review")
    owner = api.auth("acme", "member")
    meeting = api.client.get(f"/v1/meetings/{meeting_id}", headers=owner).json()
    label = meeting["transcript"]["speakers"][1]["id"]
    renamed = api.client.patch(f"/v1/meetings/{meeting_id}/speakers",
                               json={"names": {label: "acme-member2"}}, headers=owner)  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    sign_in(api, "member2")
    assert meeting_id not in api.client.get("/meetings").text  # named, not yet confirmed
    assert api.client.get(f"/meetings/{meeting_id}").status_code == 404
    (request,) = api.client.get("/v1/attributions").json()["items"]
    body = {"answers": {item["id"]: "me" for item in request["items"]}}
    answered = api.client.post(f"/v1/attributions/{request['id']}/answer", json=body,
                               headers=SAME_ORIGIN)  # fmt: skip
    assert answered.json()["status"] == "confirmed", answered.text
    listing = api.client.get("/meetings").text
    assert f'href="/meetings/{meeting_id}">Roadmap review</a>' in listing
    assert "shared by acme-member" in listing
    page = api.client.get(f"/meetings/{meeting_id}")
    assert page.status_code == 200 and "Shared with you by acme-member" in page.text
    assert "<h3>Decisions</h3>" in page.text and 'id="ask-form"' in page.text
    assert 'class="rename' not in page.text and 'id="delete-meeting"' not in page.text
    assert "Roadmap review" in api.client.get("/meetings", params={"q": "calendar"}).text


def test_my_consent_before_any_notice_says_so_and_offers_nothing_to_give(api: Api) -> None:
    api.add_person("initech", "member", Role.MEMBER)
    sign_in(api, "member", "initech")
    page = api.client.get("/consent")
    assert page.status_code == 200 and "No consent notice has been published yet" in page.text
    assert "data-decision" not in page.text and "not decided" in page.text


def test_my_consent_shows_the_notice_in_the_visitors_language_and_records_it(api: Api) -> None:
    from minutekeeper.consent import TranslationDraft

    admin = api.people["acme", "admin"]
    version = api.runtime.service.current_notice(admin.tenant_id)
    german = TranslationDraft("de", "Ihre Besprechungsinhalte", "Wir behalten Beispiele.")
    api.runtime.service.translate_notice(admin, version.id, german)
    sign_in(api)
    page = api.client.get("/consent", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Ihre Besprechungsinhalte" in page.text and 'lang="de">Wir behalten' in page.text
    assert '<a href="/consent?lang=en" lang="en">en</a>' in page.text
    me = api.people["acme", "member"]
    with read_transaction(api.runtime.engine) as conn:
        served = last_served(conn, subject_id=me.subject_id, version_id=version.id)
    assert served.translation_id is not None
    assert notice_id_on(page.text) == version.id  # a give names the version, not the text
    english = api.client.get("/consent?lang=en", headers={"Accept-Language": "de"})
    assert str(escape(load_notice_file(None).title)) in english.text
