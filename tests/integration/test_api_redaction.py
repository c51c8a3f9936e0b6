"""Issue 21 end to end, through the HTTP API on SQLite and PostgreSQL: a meeting and a
question are kept for training and exported, and neither the candidates nor the exported
file hold the name of a member who never spoke ("Eve from HR"), the asker's own name, or
an email at an internal domain."""

from __future__ import annotations

import io
import tarfile

from sqlalchemy import select

from minutekeeper.consent.domain import Role
from minutekeeper.consent.store import TrainingCandidateRecord
from tests.integration.api_support import Api
from tests.integration.test_api_exports import (
    SPEAKERS,
    build_export,
    confirm_attributions,
    members_consent,
    wait,
)

MEETING = """WEBVTT

1
00:00:00.500 --> 00:00:06.000
<v Alice>Morning. Eve from HR has not signed off the budget yet.

2
00:00:06.500 --> 00:00:12.000
<v Bob>Then send it to dana@initech.example today, Alice, and we ship in January.

3
00:00:12.500 --> 00:00:18.000
<v Carol>Agreed, calendar sync ships in January and offline mode in December.
"""
SECRETS = ("Eve", "Alice", "dana@initech.example", "initech")


def test_kept_and_exported_examples_hold_no_name_nor_internal_email(api: Api) -> None:
    api.add_person("acme", "Eve", Role.MEMBER)  # a member who never consents nor speaks
    members_consent(api, SPEAKERS)
    alice = api.auth("acme", "Alice")
    upload = {"recording": ("standup.vtt", MEETING.encode())}
    accepted = api.client.post("/v1/meetings", headers=alice, files=upload).json()
    job = wait(api, accepted["job"]["id"], "Alice")
    assert job["status"] == "succeeded", job
    confirm_attributions(api, ("Bob", "Carol"))
    asked = api.client.post(
        f"/v1/meetings/{accepted['meeting_id']}/ask",
        headers=alice,
        json={"question": "Alice asking: when does calendar sync ship?", "engine": "extractive"},
    )
    assert asked.status_code == 200, asked.text

    with api.runtime.engine.connect() as conn:
        tc = TrainingCandidateRecord
        kept = conn.execute(select(tc.messages).where(tc.status == "eligible")).scalars().all()
    held = " ".join(m["content"] for messages in kept for m in messages)
    assert len(kept) >= 2 and "<PERSON>" in held and "<EMAIL>" in held
    assert [s for s in SECRETS if s in held] == []
    export = build_export(api)
    assert export["counts"]["included"] == len(kept)
    tar = api.client.get(f"/v1/exports/{export['id']}/download",
                         headers=api.auth("acme", "ml_exporter"))  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tar.content)) as archive:
        member = archive.extractfile("minutekeeper-export-v1/openai.jsonl")
        assert member is not None
        written = member.read().decode("utf-8")
    assert "January" in written  # the content itself is kept
    assert [s for s in SECRETS if s in written] == []
