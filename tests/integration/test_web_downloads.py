"""A meeting's page in a real browser saves its transcript and summary as files and copies
its action items: each link clicked in headless Chromium, the saved bytes parsed and
compared with what the page shows; the clipboard read back, and refused."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pysrt
import pytest
import webvtt
from playwright.sync_api import Page, expect

from tests.integration.test_web_e2e import CHROMIUM, EXAMPLES, _page_signed_in
from tests.live_server import live_server

TITLE = "Réunion: Q3 / beta"
STEM = "réunion-q3-beta"


def _meeting(url: str, token: str) -> tuple[str, dict[str, Any]]:
    """The example meeting uploaded as subtitles with a date (so its items fall due) and
    summarized; its id and summary."""
    vtt = (EXAMPLES / "meeting.vtt").read_bytes()
    form = {"title": TITLE, "meeting_date": "2025-11-03"}
    with httpx.Client(base_url=url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:  # fmt: skip
        meeting_id = client.post("/v1/meetings", files={"recording": ("m.vtt", vtt)},
                                 data=form).json()["meeting_id"]  # fmt: skip
        deadline = time.monotonic() + 60
        while client.get(f"/v1/jobs/{meeting_id}").json()["status"] != "succeeded":
            assert time.monotonic() < deadline, "the upload did not finish"
            time.sleep(0.2)
        summary: dict[str, Any] = client.get(f"/v1/meetings/{meeting_id}/summary").json()
    return meeting_id, summary


def _page_segments(page: Page) -> list[tuple[float, str, str]]:
    """(start, speaker, text) of each transcript line on the page."""
    rows = page.locator("li.segment").evaluate_all(
        """items => items.map(li => [parseFloat(li.dataset.start),
            li.querySelector('.speaker').textContent.trim(),
            li.querySelector('.text').textContent.trim()])"""
    )
    return [(float(start), str(speaker), str(text)) for start, speaker, text in rows]


def _seconds(clock: str) -> float:
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _save(page: Page, what: str, folder: Path) -> Path:
    """Click the link that saves `what` (e.g. "transcript as SRT"); the file Chromium saved,
    under the name the server gave it."""
    with page.expect_download() as saving:
        page.locator("#downloads").get_by_role("link", name=f"Save the {what}").click()
    download = saving.value
    assert download.failure() is None
    target = folder / download.suggested_filename
    download.save_as(target)
    return target


def _check_transcripts(page: Page, folder: Path) -> None:
    shown = _page_segments(page)
    assert len(shown) > 5
    srt = _save(page, "transcript as SRT", folder)
    assert srt.name == f"{STEM}-transcript.srt"
    items = pysrt.open(str(srt), encoding="utf-8")
    assert [(round(i.start.ordinal / 1000, 1), i.text) for i in items] == [
        (round(start, 1), f"{speaker}: {text}") for start, speaker, text in shown
    ]
    vtt = _save(page, "transcript as WebVTT", folder)
    assert vtt.name == f"{STEM}-transcript.vtt"
    cues = webvtt.read(str(vtt))
    assert [(round(_seconds(c.start), 1), c.voice, c.text) for c in cues] == [
        (round(start, 1), speaker, text) for start, speaker, text in shown
    ]
    text = _save(page, "transcript as Text", folder)
    assert text.name == f"{STEM}-transcript.txt"
    lines = text.read_text(encoding="utf-8").splitlines()
    assert [line.split("] ", 1)[1] for line in lines if line] == [
        f"{speaker}: {said}" for _, speaker, said in shown
    ]
    data = json.loads(_save(page, "transcript as JSON", folder).read_text(encoding="utf-8"))
    names = {s["id"]: s["name"] for s in data["speakers"]}
    assert [(names[s["speaker"]], s["text"]) for s in data["segments"]] == [
        (speaker, said) for _, speaker, said in shown
    ]


def _check_summaries(page: Page, folder: Path, actions: list[dict[str, str]]) -> None:
    summary = page.locator("#downloads").get_by_role("link", name="Save the summary as Markdown")
    expect(summary).to_have_attribute("href", re.compile(r"summary\?format=md&download=1$"))
    markdown = _save(page, "summary as Markdown", folder)
    assert markdown.name == f"{STEM}-summary.md"
    md = markdown.read_text(encoding="utf-8")
    assert "## Action items" in md
    for item in actions:
        assert f"**{item['owner'] or '(no owner)'}**: {item['task']}" in md
    saved = _save(page, "summary as JSON", folder)
    assert saved.name == f"{STEM}-summary.json"
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert [(a["owner"], a["task"]) for a in data["action_items"]] == [
        (a["owner"], a["task"]) for a in actions
    ]


@pytest.mark.timeout(240)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_member_saves_the_transcript_and_summary_and_copies_the_action_items(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path / "data") as server:
        alice = server.token("member", "Alice")
        meeting_id, summary = _meeting(server.url, alice)
        actions = summary["action_items"]
        assert len(actions) >= 2 and any(a["due"] for a in actions)
        with _page_signed_in(server.url, alice, accept_downloads=True) as page:
            page.goto(f"/meetings/{meeting_id}")
            _check_transcripts(page, tmp_path)
            _check_summaries(page, tmp_path, actions)
            page.context.grant_permissions(["clipboard-read", "clipboard-write"])
            page.get_by_role("button", name="Copy action items").click()
            expect(page.locator("#copy-message")).to_have_text("Copied")
            expect(page.locator("#copy-fallback")).to_be_hidden()
            copied = page.evaluate("navigator.clipboard.readText()").splitlines()
            shown = page.locator('[data-section="action_items"] li').all_inner_texts()
            assert len(copied) == len(actions) == len(shown)
            for line, item, on_page in zip(copied, actions, shown, strict=True):
                assert line.startswith(f"{item['owner'] or '(no owner)'}: {item['task']}")
                assert item["task"] in on_page
                if item["due"]:
                    assert line.endswith(f" — due {item['due']} ({item['due_phrase']})")


@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_a_refused_clipboard_leaves_the_action_items_selected_to_copy_by_hand(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path / "data") as server:
        alice = server.token("member", "Alice")
        meeting_id, _ = _meeting(server.url, alice)
        with _page_signed_in(server.url, alice) as page:
            page.goto(f"/meetings/{meeting_id}")
            # The browser's answer, not a script's: Chromium itself denies the page.
            cdp = page.context.browser.new_browser_cdp_session()  # type: ignore[union-attr]
            (context_id,) = cdp.send("Target.getBrowserContexts")["browserContextIds"]
            cdp.send("Browser.setPermission", {"permission": {"name": "clipboard-write"},
                     "setting": "denied", "browserContextId": context_id})  # fmt: skip
            page.get_by_role("button", name="Copy action items").click()
            message = page.locator("#copy-message")
            expect(message).to_contain_text("did not let this page copy")
            fallback = page.locator("#copy-fallback")
            expect(fallback).to_be_visible()
            expect(fallback).to_be_focused()
            text = fallback.input_value()
            assert text.count("\n") >= 1
            selected = page.evaluate(
                "() => { const t = document.getElementById('copy-fallback');"
                " return t.value.slice(t.selectionStart, t.selectionEnd); }"
            )
            assert selected == text
