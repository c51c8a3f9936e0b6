"""Transcripts and summaries saved as files: inline by default, an attachment named after
the meeting's title with `download=1`, the title (user input) never able to shape the
header or the path a browser saves to."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from minutekeeper.api.downloads import attachment, slug
from tests.integration.api_support import Api
from tests.integration.test_api_meetings import EXAMPLES, finished, upload

HOSTILE = 'Q3 "plan"\r\nX-Injected: yes/../../etc/passwd\\..\\ Réunion 会議 ; filename=evil.exe'
FULL_WIDTH = "\uff26\uff55\uff4c\uff4c\u3000\uff57\uff49\uff44\uff54\uff48"  # "Full width"
SAFE_ASCII = re.compile(r'^attachment; filename="[a-z0-9-]+\.[a-z]+"(; |$)')


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: reading a meeting back; its access rules are tested on both databases
    in test_api_authz."""
    return f"sqlite:///{tmp_path / 'minutekeeper.db'}"


def _meeting(api: Api, title: str) -> str:
    accepted = upload(api, EXAMPLES / "meeting.vtt", title=title)
    assert accepted.status_code == 202, accepted.text
    assert finished(api, accepted.json()["job"]["id"])["status"] == "succeeded"
    meeting_id: str = accepted.json()["meeting_id"]
    return meeting_id


def _names(disposition: str) -> tuple[str, str | None]:
    """The plain filename and the decoded filename* of a Content-Disposition value."""
    plain = re.search(r'filename="([^"]*)"', disposition)
    full = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert plain is not None, disposition
    return plain.group(1), unquote(full.group(1)) if full else None


DOWNLOADS = [
    ("transcript?format=text", "beta-planning-transcript.txt", "text/plain"),
    ("transcript?format=srt", "beta-planning-transcript.srt", "application/x-subrip"),
    ("transcript?format=vtt", "beta-planning-transcript.vtt", "text/vtt"),
    ("transcript?format=json", "beta-planning-transcript.json", "application/json"),
    ("summary?format=md", "beta-planning-summary.md", "text/markdown"),
    ("summary?format=json", "beta-planning-summary.json", "application/json"),
]


def test_a_download_is_an_attachment_named_after_the_title_and_inline_otherwise(
    api: Api,
) -> None:
    meeting_id = _meeting(api, "Beta planning")
    for path, name, media_type in DOWNLOADS:
        url = f"/v1/meetings/{meeting_id}/{path}"
        inline = api.client.get(url, headers=api.auth())
        assert inline.status_code == 200 and "content-disposition" not in inline.headers
        saved = api.client.get(f"{url}&download=1", headers=api.auth())
        assert saved.status_code == 200, saved.text
        assert saved.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert saved.headers["content-type"].startswith(media_type)
        assert saved.content == inline.content


def test_a_hostile_title_cannot_shape_the_header_or_the_saved_path(api: Api) -> None:
    meeting_id = _meeting(api, HOSTILE)
    stored = api.client.get(f"/v1/meetings/{meeting_id}", headers=api.auth()).json()
    assert stored["meeting"]["title"] == HOSTILE  # kept as typed; only the file name is tamed
    saved = api.client.get(f"/v1/meetings/{meeting_id}/transcript?format=srt&download=1",
                           headers=api.auth())  # fmt: skip
    assert saved.status_code == 200, saved.text
    (disposition,) = saved.headers.get_list("content-disposition")
    assert "x-injected" not in saved.headers
    assert SAFE_ASCII.match(disposition), disposition
    plain, full = _names(disposition)
    assert plain == "q3-plan-x-injected-yes-etc-passwd-reunion-filename-evil-exe-transcript.srt"
    assert full == "q3-plan-x-injected-yes-etc-passwd-réunion-会議-filename-evil-exe-transcript.srt"
    for name in (plain, full):
        assert not {"/", "\\", '"', "\r", "\n", ";", " "} & set(name)
        assert ".." not in name and name.count(".") == 1


@pytest.mark.parametrize(
    ("title", "plain", "full"),
    [
        ("会議", "meeting-summary.md", "会議-summary.md"),
        ("../..", "meeting-summary.md", None),
        ("", "meeting-summary.md", None),
        ("x" * 300, f"{'x' * 80}-summary.md", None),
        (FULL_WIDTH, "full-width-summary.md", None),
    ],
)
def test_a_title_with_nothing_safe_in_it_still_names_a_file(
    title: str, plain: str, full: str | None
) -> None:
    assert _names(attachment(title, "summary.md")) == (plain, full)
    assert slug(title, ascii_only=True) in plain
