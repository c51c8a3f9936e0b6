"""The command line and the web are one person: `tokens create` without `--subject` makes
a token for the local user, whom the CLI acts as, so the API lists the meetings the CLI
saved; `minutekeeper search` finds words in the local user's meetings and no one else's.
Through the installed console script, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from minutekeeper.api import create_app
from minutekeeper.core.settings import Settings
from minutekeeper.runtime import Runtime
from tests.integration.test_consent_attacks import mk_on, spoken

EXAMPLES = Path(__file__).parents[2] / "examples"


def saved(result: object) -> str:
    """The meeting id `summarize` says it saved."""
    stderr = getattr(result, "stderr", "")
    line = next(x for x in stderr.splitlines() if x.startswith("saved as meeting "))
    return line.removeprefix("saved as meeting ").strip()


def test_a_token_made_without_a_subject_signs_in_as_the_local_user(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    made = mk_on(database_url, data, "alice", "summarize", str(EXAMPLES / "meeting.vtt"),
                 "--engine", "extractive", "--no-transcript", "--title", "Planning")  # fmt: skip
    assert made.returncode == 0, made.stderr
    meeting = saved(made)
    issued = mk_on(database_url, data, "alice", "tokens", "create", "--role", "admin")
    assert issued.returncode == 0, issued.stderr
    assert "for alice (the local user, as whom this command line acts) (admin)" in issued.stderr
    token = issued.stdout.strip()
    runtime = Runtime.build(Settings(data_dir=data, database_url=database_url))
    with TestClient(create_app(runtime=runtime)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        listed = client.get("/v1/meetings", headers=headers)
        assert listed.status_code == 200, listed.text
        assert [(m["id"], m["title"], m["role"]) for m in listed.json()["items"]] == [
            (meeting, "Planning", "owner")
        ]
        found = client.get("/v1/search", params={"q": "calendar sync"}, headers=headers)
        assert {h["meeting_id"] for h in found.json()["items"]} == {meeting}
    # A second one is the same person still.
    again = mk_on(database_url, data, "alice", "tokens", "create").stdout.strip()
    assert again != token
    listed_tokens = mk_on(database_url, data, "alice", "tokens", "list").stdout
    assert listed_tokens.count(" alice ") == 2, listed_tokens


def test_search_prints_the_local_users_hits_and_no_one_elses(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    mine = tmp_path / "mine.vtt"
    mine.write_bytes(spoken(("Alice", "We move calendar sync to January."),
                            ("Bob", "The zimbrel launch slips a week.")))  # fmt: skip
    theirs = tmp_path / "theirs.vtt"
    theirs.write_bytes(spoken(("Bob", "Calendar sync is my secret quorbex project.")))
    common = ("--engine", "extractive", "--no-transcript")
    alice = mk_on(database_url, data, "alice", "summarize", str(mine), *common, "--title", "Sync")
    assert alice.returncode == 0, alice.stderr
    bob = mk_on(database_url, data, "bob", "summarize", str(theirs), *common)
    assert bob.returncode == 0, bob.stderr
    meeting = saved(alice)

    found = mk_on(database_url, data, "alice", "search", "calendar sync")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    said = next(line for line in lines if "(transcript, Alice)" in line)
    assert said.split()[:2] == [meeting[:8], "00:00"], said
    assert "Sync (transcript, Alice): We move calendar sync to January" in said
    assert all(line.startswith(meeting[:8]) for line in lines), lines  # never Bob's
    nothing = mk_on(database_url, data, "alice", "search", "quorbex")
    assert nothing.returncode == 0 and nothing.stdout.strip() == "Nothing found for 'quorbex'."
    as_json = json.loads(mk_on(database_url, data, "alice", "search", "zimbrel", "--json").stdout)
    assert [(h["meeting_id"], h["kind"], h["speaker"]) for h in as_json][-1] == (
        meeting,
        "transcript",
        "Bob",
    )
    paged = mk_on(database_url, data, "alice", "search", "calendar", "--limit", "1")
    assert len(paged.stdout.splitlines()) == 1 and "more: --cursor " in paged.stderr
    cursor = paged.stderr.split("more: --cursor ")[1].split()[0]
    rest = mk_on(database_url, data, "alice", "search", "calendar", "--cursor", cursor)
    assert rest.stdout.splitlines() == lines[1:]
    for typed in ('"', "   ", "x" * 201):
        refused = mk_on(database_url, data, "alice", "search", typed)
        assert refused.returncode == 1 and refused.stderr.startswith("error: the query"), typed
    syntax = mk_on(database_url, data, "alice", "search", 'NEAR("calendar" sync) OR text:x*')
    assert syntax.returncode == 0, syntax.stderr
