"""The web pages in a real browser against a real server: sign in, give consent, upload the
example recording and follow it to its summary, click a citation to read and hear that
moment, withdraw; search the meetings and land on a hit's moment; delete a meeting from its
page once the visitor confirms; sign in and out (a
session cookie scripts cannot read, ended by signing out) and a sign-in form posted from
another site, refused; the API docs at /docs, rendered from this server alone. Headless
Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from minutekeeper.api.authn import SESSION_COOKIE
from tests.live_server import live_server
from tests.model.tiny_llm import TEMPLATE, tiny_llama

EXAMPLES = Path(__file__).parents[2] / "examples"
AUDIO = Path(__file__).parents[1] / "fixtures" / "audio"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The embedded Whisper base takes about 80 s for the 2.5 min example on 2 CPU cores.
MEETING_S = 300
STEP_MS = 15_000
STATE = 'tr[data-purpose="train_ai_system"] td.state'


def _sign_in(page: Page, token: str) -> None:
    page.goto("/signin")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/meetings")  # a member starts on Meetings, not the long notice
    expect(page.get_by_role("heading", name="Your meetings")).to_be_visible()
    page.get_by_role("link", name="My consent").click()
    page.wait_for_url("**/consent")
    expect(page.get_by_role("heading", name="My consent", exact=True)).to_be_visible()


def _give_consent(page: Page) -> None:
    expect(page.locator("#notice-title")).to_contain_text("Keeping your meeting content")
    expect(page.locator(STATE)).to_have_text("not decided")
    page.get_by_role("button", name="Give consent").click()
    expect(page.locator(STATE)).to_have_text("given", timeout=STEP_MS)
    expect(page.locator("#training-now")).to_contain_text("Yes: your words may be kept")
    expect(page.locator("#decide-message")).to_contain_text("Consent given")


def _upload(page: Page) -> float:
    """Upload the example and wait for its meeting page; returns the seconds it took."""
    page.get_by_role("link", name="Meetings").click()
    page.wait_for_url("**/meetings")
    page.locator("#recording").set_input_files(EXAMPLES / "meeting.flac")
    page.get_by_label("Title (optional)").fill("Planning call")
    started = time.monotonic()
    page.get_by_role("button", name="Upload").click()
    # The stage in words, with the share transcribed (Whisper on this recording takes a minute).
    expect(page.locator("#upload-message")).to_contain_text(
        re.compile(r"Transcribing \d+ %"), timeout=60_000
    )
    page.wait_for_url(re.compile(r"/meetings/[0-9a-f-]{36}$"), timeout=MEETING_S * 1000)
    return time.monotonic() - started


def _follow_a_citation(page: Page) -> None:
    expect(page.get_by_role("heading", name="Planning call")).to_be_visible()
    expect(page.get_by_role("heading", name="Decisions")).to_be_visible()
    player = page.locator("audio#player")
    expect(player).to_be_attached()
    cites = page.locator("#summary a.cite")
    starts = [float(s) for s in cites.evaluate_all("links => links.map(l => l.dataset.start)")]
    assert starts, "the summary cites nothing"
    index = max(range(len(starts)), key=lambda i: starts[i])  # the latest: the page must scroll
    link = cites.nth(index)
    segment_id = (link.get_attribute("href") or "").removeprefix("#")
    link.click()
    segment = page.locator(f"li.segment#{segment_id}")
    expect(segment).to_have_class(re.compile(r"\bis-cited\b"))
    expect(segment).to_be_in_viewport()
    page.wait_for_function(
        "at => Math.abs(document.getElementById('player').currentTime - at) < 1.0",
        arg=starts[index],
        timeout=STEP_MS,
    )
    segment_start = float(segment.get_attribute("data-start") or "nan")
    assert segment_start - 0.01 <= starts[index]  # the cited moment lies in that segment
    assert page.locator(".segment.is-cited").count() == 1


def _withdraw(page: Page) -> None:
    page.get_by_role("link", name="My consent").click()
    page.wait_for_url("**/consent")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator(STATE)).to_have_text("withdrawn", timeout=STEP_MS)
    expect(page.locator("#training-now")).to_contain_text("No: your words are not kept")
    receipt = page.locator("table.receipt tbody tr")
    expect(receipt).to_have_count(2)
    expect(receipt.locator("td.state")).to_have_text(["given", "withdrawn"])
    expect(receipt.locator("code.hash")).to_have_text([re.compile(r"^[0-9a-f]{64}$")] * 2)


@contextmanager
def _signed_in(
    data_dir: Path, *, server_env: dict[str, str] | None = None, **context: Any
) -> Iterator[Page]:
    """A fresh server with the notice published and training sharing on, and a browser
    page signed in as the member Alice (browser context options: `context`; the server's
    environment: `server_env`)."""
    with live_server(data_dir, **(server_env or {})) as server:  # stopped on the way out
        server.cli("consent", "notice", "publish")
        server.cli("consent", "tenant", "set", "--training-sharing", "on")
        token = server.token("member", "Alice")
        with _page_signed_in(server.url, token, **context) as page:
            yield page


@contextmanager
def _page_signed_in(url: str, token: str, **context: Any) -> Iterator[Page]:
    """A Chromium page on the server at `url`, signed in with `token` (browser context
    options: `context`)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(base_url=url, **context).new_page()
            page.set_default_timeout(STEP_MS)
            _sign_in(page, token)
            yield page
        finally:
            browser.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_member_consents_uploads_follows_a_citation_and_withdraws(tmp_path: Path) -> None:
    with _signed_in(tmp_path / "data") as page:
        _give_consent(page)
        took = _upload(page)
        _follow_a_citation(page)
        _withdraw(page)
    print(f"upload to summary: {took:.0f} s")


@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_browser_sending_gpc_is_told_why_and_can_give_with_an_explicit_override(
    tmp_path: Path,
) -> None:
    with _signed_in(tmp_path / "data", extra_http_headers={"Sec-GPC": "1"}) as page:
        page.get_by_role("button", name="Give consent").click()
        message = page.locator("#decide-message")
        expect(message).to_contain_text("Global Privacy Control")
        expect(page.locator(STATE)).to_have_text("refused")  # the signal, honoured
        override = page.get_by_role("button", name=re.compile("overriding"))
        expect(override).to_be_visible()
        override.click()
        expect(page.locator(STATE)).to_have_text("given")
        expect(message).to_contain_text("Consent given")
        expect(override).to_be_hidden()
        page.reload()  # every later request still carries the signal
        expect(page.locator(STATE)).to_have_text("given")
        receipt = page.locator("table.receipt tbody tr td.state")
        expect(receipt).to_have_text(["refused", "given"])


def _ask(page: Page, question: str) -> None:
    page.get_by_label("Question").fill(question)
    page.get_by_role("button", name="Ask").click()


@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_member_asks_about_a_meeting_and_follows_the_answers_citation(tmp_path: Path) -> None:
    with _signed_in(tmp_path / "data") as page:
        page.goto("/meetings")
        page.locator("#recording").set_input_files(EXAMPLES / "meeting.vtt")
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url(re.compile(r"/meetings/[0-9a-f-]{36}$"), timeout=60_000)
        answer = page.locator("#answer")
        expect(answer).to_be_hidden()
        _ask(page, "What did we decide about calendar sync?")
        expect(answer).to_contain_text("move calendar sync to January")
        cites = answer.locator("a.cite")
        expect(cites.first).to_be_visible()
        decision = answer.locator('a.cite[href="#s0007"]')
        expect(decision).to_have_text("[00:36]")
        decision.click()
        segment = page.locator("li.segment#s0007")
        expect(segment).to_have_class(re.compile(r"\bis-cited\b"))
        expect(segment).to_be_in_viewport()
        assert page.url.endswith("#s0007")
        _ask(page, "What is the budget for marketing?")
        expect(answer).to_contain_text("does not seem to discuss this")
        expect(answer).to_have_class(re.compile(r"\bnot-discussed\b"))
        expect(cites).to_have_count(0)
        _ask(page, "   ")
        expect(page.locator("#ask-message")).to_have_text("No answer: the question is empty")
        expect(answer).to_be_hidden()


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_the_upload_form_s_date_speakers_and_names_reach_the_meeting_page(tmp_path: Path) -> None:
    with _signed_in(tmp_path / "data") as page:
        page.goto("/meetings")
        day = page.get_by_label("Meeting date")
        expect(day).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))  # today, editable
        page.locator("#recording").set_input_files(AUDIO / "two_speakers.wav")
        expect(page.locator("#date-hint")).to_contain_text("The chosen file was last changed on")
        day.fill("2026-11-23")
        page.get_by_label("Number of speakers").fill("2")
        page.get_by_label("Speakers' names (optional)").fill("Maria Lopez, Martin")
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url(re.compile(r"/meetings/[0-9a-f-]{36}$"), timeout=180_000)
        expect(page.locator("p.meta").first).to_contain_text("held 2026-11-23 (given)")
        names = page.locator("ul.speakers input[name=name]")
        expect(names).to_have_count(2)
        assert sorted(names.evaluate_all("(all) => all.map((i) => i.value)")) == [
            "Maria Lopez",
            "Martin",
        ]


def _uploaded(client: httpx.Client, vtt: str, title: str) -> str:
    """Upload subtitles through the API and wait for the job; the meeting's id."""
    files = {"recording": ("upload.vtt", vtt.encode(), "text/vtt")}
    meeting_id = str(
        client.post("/v1/meetings", files=files, data={"title": title}).json()["meeting_id"]
    )
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{meeting_id}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the upload did not finish"
        time.sleep(0.2)
    return meeting_id


@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_member_named_in_a_meeting_sees_only_their_words_and_confirms_them(
    tmp_path: Path,
) -> None:
    said = (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Carol>We ship on Thursday.\n\n"
        "00:00:02.000 --> 00:00:04.000\n<v Alice>The launch budget is ten thousand.\n"
    )
    with live_server(tmp_path / "data") as server:
        server.cli("consent", "notice", "publish")
        carol = server.token("member", "Carol")
        alice = server.token("member", "Alice")
        as_carol = {"Authorization": f"Bearer {carol}"}
        with httpx.Client(base_url=server.url, timeout=30, headers=as_carol) as client:
            _uploaded(client, said, "planning")
        with _page_signed_in(server.url, alice) as page:
            page.get_by_role("link", name="My words").click()
            page.wait_for_url("**/attributions")
            items = page.locator("form.attribution li")
            expect(items).to_have_count(1)
            expect(items).to_contain_text("The launch budget is ten thousand.")
            expect(page.locator("form.attribution")).not_to_contain_text("Thursday")
            page.get_by_label("That's me").check()
            page.get_by_role("button", name="Send my answer").click()
            expect(page.locator("form.attribution .message")).to_contain_text(
                "these words are yours"
            )
            page.reload()
            expect(page.locator("form.attribution")).to_have_count(0)
            expect(page.get_by_text("confirmed")).to_be_visible()


MEETING_VTT = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n<v Alice>We decided to ship the beta in "
    "December.\n\n00:00:04.000 --> 00:00:08.000\n<v Bob>I will send the design by Thursday.\n"
)


def _draft(page: Page, *, thread: str = "", instruction: str = "", kind: str = "reply",
           meeting: str = "") -> None:  # fmt: skip
    page.get_by_label("Thread").fill(thread)
    page.get_by_label("What should the message say?").fill(instruction)
    page.get_by_label("Kind").select_option(kind)
    page.locator("#meeting").select_option(meeting)
    page.get_by_role("button", name="Draft").click()


@pytest.mark.timeout(300)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_draft_that_failed_its_checks_leads_with_what_it_misses(tmp_path: Path) -> None:
    # A tiny random model: its vocabulary has neither "300" nor "Thursday", so its drafts
    # miss both, and its follow-ups fail too (the meeting's items write that one).
    model = tiny_llama(tmp_path / "tiny", chat_template=TEMPLATE, context=4096)
    env = {"MINUTEKEEPER_LLM_MODEL": str(model)}
    with _signed_in(tmp_path / "data", server_env=env) as page:
        (tmp_path / "sync.vtt").write_text(MEETING_VTT)
        page.get_by_role("link", name="Meetings").click()
        page.locator("#recording").set_input_files(tmp_path / "sync.vtt")
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url(re.compile(r"/meetings/[0-9a-f-]{36}$"), timeout=60_000)
        page.get_by_role("link", name="Compose").click()
        page.wait_for_url("**/compose")
        message = page.locator("#compose-message")

        _draft(page, thread="Ann: What does the upgrade cost?\nBen: Dana knows.",
               instruction="say it costs 300 euros by Thursday")  # fmt: skip
        expect(message).to_contain_text("This draft misses: Thursday, 300", timeout=60_000)
        expect(message).to_contain_text("Edit it before you send it")
        expect(message).to_have_class(re.compile(r"\bwarning\b"))
        expect(message).not_to_have_class(re.compile(r"\bok\b"))
        expect(page.locator("#draft")).not_to_have_value("")

        meeting = page.locator("#meeting option").nth(1).get_attribute("value") or ""
        _draft(page, kind="followup", meeting=meeting)
        expect(message).to_contain_text(
            "this follow-up is written from the meeting's decisions and action items",
            timeout=60_000,
        )
        expect(message).to_have_class(re.compile(r"\bnote\b"))
        expect(message).not_to_have_class(re.compile(r"\b(ok|warning)\b"))
        expect(page.locator("#draft")).to_have_value(re.compile("Bob"))
        expect(page.locator("#draft-notes")).to_contain_text("The model's best draft ")


@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_member_searches_their_meetings_and_lands_on_the_moment(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with live_server(data_dir) as server:
        alice = server.token("member", "Alice")
        as_alice = {"Authorization": f"Bearer {alice}"}
        with httpx.Client(base_url=server.url, timeout=30, headers=as_alice) as client:
            meeting_id = _uploaded(client, MEETING_VTT, "Beta planning")
        # A subtitle upload keeps no recording: put one beside it, to hear the moment.
        shutil.copy(AUDIO / "two_speakers.wav", data_dir / "media" / meeting_id / "recording.wav")
        with _page_signed_in(server.url, alice) as page:
            page.get_by_role("link", name="Meetings").click()
            page.wait_for_url("**/meetings")
            page.get_by_label("Words said in your meetings").fill("design Thursday")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url(re.compile(r"/meetings\?q=design\+Thursday$"))
            hit = page.locator('ol.search-results li.hit[data-kind="transcript"]')
            expect(hit).to_have_count(1)
            expect(hit).to_contain_text("I will send the design by Thursday")
            expect(hit.locator("mark")).to_have_text(["design", "Thursday"])
            hit.get_by_role("link", name="Beta planning at 00:04").click()
            page.wait_for_url(re.compile(rf"/meetings/{meeting_id}#s0002$"))
            segment = page.locator("li.segment#s0002")
            expect(segment).to_have_class(re.compile(r"\bis-cited\b"))
            expect(segment).to_be_in_viewport()
            expect(segment).to_contain_text("I will send the design by Thursday.")
            page.wait_for_function(
                "Math.abs(document.getElementById('player').currentTime - 4.0) < 0.5",
                timeout=STEP_MS,
            )
            assert page.locator(".segment.is-cited").count() == 1
            # Words nobody said: the page says so.
            page.get_by_role("link", name="← Your meetings").click()
            page.get_by_label("Words said in your meetings").fill("zimbrel")
            page.get_by_role("button", name="Search").click()
            expect(
                page.get_by_text("Nothing found for “zimbrel” in your meetings.")
            ).to_be_visible()


def _delete_from_its_page(page: Page, client: httpx.Client, meeting_id: str) -> list[str]:
    """Press Delete on the meeting's page: declined first (nothing happens), then
    confirmed; returns what the confirmations asked."""
    page.goto(f"/meetings/{meeting_id}")
    delete = page.get_by_role("button", name="Delete meeting")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    delete.click()
    expect(delete).to_be_enabled()
    assert client.get(f"/v1/meetings/{meeting_id}").status_code == 200
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    delete.click()
    page.wait_for_url("**/meetings")
    expect(page.get_by_role("heading", name="Your meetings")).to_be_visible()
    return asked


@pytest.mark.timeout(240)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_member_deletes_a_meeting_from_its_page_once_they_confirm(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    with live_server(data_dir, MINUTEKEEPER_DATABASE_URL=database_url) as server:
        alice = server.token("member", "Alice")
        as_alice = {"Authorization": f"Bearer {alice}"}
        with httpx.Client(base_url=server.url, timeout=30, headers=as_alice) as client:
            meeting_id = _uploaded(client, MEETING_VTT, "Beta planning")
            folder = data_dir / "media" / meeting_id
            assert (folder / "transcript.vtt").exists()
            with _page_signed_in(server.url, alice) as page:
                asked = _delete_from_its_page(page, client, meeting_id)
                expect(page.get_by_role("link", name="Beta planning")).to_have_count(0)
            assert len(asked) == 2 and all("Beta planning" in a for a in asked)
            assert client.get(f"/v1/meetings/{meeting_id}").status_code == 404
            assert not folder.exists()


# A page of another site that posts the sign-in form with the attacker's own token.
CROSS_SITE_FORM = """<!doctype html><form method="post" action="{action}">
<input name="token" value="{token}"><button type="submit">Win a prize</button></form>"""


@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_browser_signs_in_to_a_session_and_signing_out_ends_it(tmp_path: Path) -> None:
    with live_server(tmp_path / "data") as server:
        token = server.token("member", "Alice")
        mallory = server.token("member", "Mallory")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                context = browser.new_context(base_url=server.url)
                page = context.new_page()
                page.set_default_timeout(STEP_MS)
                # Another site's page posting the form: refused, no cookie set.
                form = CROSS_SITE_FORM.format(action=f"{server.url}/signin", token=mallory)
                page.route("http://evil.example/**", lambda route: route.fulfill(
                    status=200, content_type="text/html", body=form))  # fmt: skip
                page.goto("http://evil.example/prize")
                page.get_by_role("button", name="Win a prize").click()
                expect(page.get_by_role("heading", level=1)).to_contain_text(
                    "did not come from minutekeeper's own page"
                )
                assert [c for c in context.cookies() if c["name"] == SESSION_COOKIE] == []
                # The server's own form: a session cookie, not the token.
                _sign_in(page, token)
                (cookie,) = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
                assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
                assert cookie["value"] != token and token.split("_", 2)[2] not in cookie["value"]
                assert SESSION_COOKIE not in page.evaluate("document.cookie")
                expect(page.locator("header .who")).to_contain_text("Alice")
                page.get_by_role("button", name="Sign out").click()
                page.wait_for_url("**/signin")
                assert [c for c in context.cookies() if c["name"] == SESSION_COOKIE] == []
                context.add_cookies([cookie])  # the old cookie, put back: ended on the server
                page.goto("/consent")
                page.wait_for_url("**/signin")
                expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
            finally:
                browser.close()


@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_the_api_docs_render_the_operations_from_this_server_alone(tmp_path: Path) -> None:
    # A 200 is not enough: Swagger UI 4 answered one with "Unable to render this
    # definition" for FastAPI's OpenAPI 3.1 (issue 23).
    requested: list[str] = []
    with live_server(tmp_path / "data") as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(base_url=server.url).new_page()
            page.set_default_timeout(STEP_MS)
            page.on("request", lambda request: requested.append(request.url))
            html = page.goto("/docs")
            assert html is not None and html.ok
            assert "https://" not in html.text()  # Swagger UI comes from this server
            ui = page.locator(".swagger-ui")
            # Rendered either way: the operations, or the version pragma's refusal.
            expect(ui.locator(".opblock, .version-pragma").first).to_be_visible()
            expect(ui).not_to_contain_text("Unable to render this definition")
            upload_path = '.opblock-summary-path[data-path="/v1/meetings"]'
            upload = ui.locator(".opblock-post", has=page.locator(upload_path))
            expect(upload).to_have_count(1)
            expect(upload.locator(".opblock-summary-method")).to_have_text("POST")
            path = upload.locator(".opblock-summary-path").inner_text()
            assert path.replace("\u200b", "") == "/v1/meetings"  # Swagger UI's line breaks
            expect(ui.locator(".opblock-get .opblock-summary-method").first).to_have_text("GET")
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()
    assert f"{server.url}/openapi.json" in requested
    inline = ("data", "blob")  # bytes inside the page itself: no host
    here = urlsplit(server.url).netloc
    elsewhere = [
        u for u in requested if urlsplit(u).scheme not in inline and urlsplit(u).netloc != here
    ]
    assert elsewhere == [], f"/docs loaded from other hosts: {elsewhere}"
