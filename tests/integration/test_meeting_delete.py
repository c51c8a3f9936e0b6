"""Deleting a meeting (SQLite and PostgreSQL): `DELETE /v1/meetings/{id}` and `minutekeeper
meetings delete` take away the recording's bytes, every row that held the meeting (its
transcript and summary, the drafts written from it, its job, stored answers quoting it),
empty what the consent module kept of it, retire its training candidates and tombstone
its published records with reason `deleted`, and audit it with ids alone. Only the
meeting's owner can; anyone else gets the 404 of a missing meeting, and nothing changes.
Content from a deleted meeting that reaches capture afterwards is never kept."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from minutekeeper.consent import (
    ArtifactKind,
    DataClass,
    Deleted,
    Offer,
    Redactor,
    Removal,
    capture_offer,
)
from minutekeeper.consent.exports import ExportHooks, create_export
from minutekeeper.consent.store import (
    ArtifactRecord,
    AttributionRequestRecord,
    AuditEntryRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import read_transaction, write_transaction
from minutekeeper.core.settings import Settings
from minutekeeper.features.compose.store import DraftRecord
from minutekeeper.features.meetings.media import media_folder
from minutekeeper.features.meetings.store import find_meeting
from minutekeeper.features.offers import Provenance
from minutekeeper.jobs.store import JobRecord, create_job
from minutekeeper.models import registry
from tests.conftest import World, cli_env
from tests.fakes import ScriptedGenerator
from tests.integration.api_support import Api, finished_job, scripted_settings
from tests.integration.test_api_exports import build_export, consenting_meeting, wait
from tests.integration.test_cli import MINUTEKEEPER
from tests.integration.test_erasure import files_quoting, rows_as_text, rows_quoting
from tests.integration.test_evidence import export_path
from tests.integration.test_web_sessions import SAME_ORIGIN, sign_in

RECORDING = Path(__file__).parents[1] / "fixtures" / "audio" / "silence.wav"
TITLE = "Tallyloop board secrets"
# Words of three speakers of examples/meeting.vtt, and the meeting's title.
CANARIES = (
    "The new diarization service is finally stable",
    "customers complained about speaker labels the most",
    "move calendar sync to January",
    TITLE,
)
TINY_VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Ann>We ship the beta on Friday.\n"
# What may still name a deleted meeting's id: the emptied artifacts and closed requests,
# the record that it was deleted, and the audit chain (ids only).
NAMING_AFTER = {"artifacts", "attribution_requests", "deleted_sources", "audit_entries"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return scripted_settings(tmp_path, database_url, monkeypatch)


def upload(api: Api, who: str, *, tenant: str = "acme", title: str = "standup") -> str:
    """A small subtitle upload of `who`'s, processed, with a recording kept beside it."""
    headers = api.auth(tenant, who)
    files = {"recording": ("standup.vtt", TINY_VTT, "text/vtt")}
    accepted = api.client.post("/v1/meetings", headers=headers, files=files,
                               data={"title": title})  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    meeting_id = str(accepted.json()["meeting_id"])
    assert finished_job(api.client, meeting_id, headers)["status"] == "succeeded"
    keep_recording(api, meeting_id)
    return meeting_id


def keep_recording(api: Api, meeting_id: str) -> Path:
    """A subtitle upload keeps no recording: put one beside the meeting, as an upload of
    audio would."""
    folder = media_folder(api.runtime.settings.resolved_media_dir(), meeting_id)
    shutil.copy(RECORDING, folder / "recording.wav")
    assert any(folder.iterdir())
    return folder


def naming(api: Api, meeting_id: str) -> set[str]:
    """The tables with a row that names the meeting's id anywhere."""
    return {table for table, text in rows_as_text(api) if meeting_id in text}


def deletions(api: Api) -> list[Any]:
    with read_transaction(api.runtime.engine) as conn:
        return list(
            conn.execute(
                select(AuditEntryRecord).where(AuditEntryRecord.action == "meeting.deleted")
            ).all()
        )


def test_deleting_a_meeting_leaves_no_row_or_file_holding_its_words(api: Api) -> None:
    meeting_id = consenting_meeting(api, title=TITLE)
    alice = api.auth("acme", "Alice")
    folder = keep_recording(api, meeting_id)
    # An answer kept for a retry, a follow-up drafted from the meeting, and what was sent.
    asked = {**alice, "Idempotency-Key": "ask-1"}
    question = {"question": "What did we decide about calendar sync?"}
    answer = api.client.post(f"/v1/meetings/{meeting_id}/ask", headers=asked, json=question)
    assert answer.status_code == 200 and CANARIES[2] in answer.text
    draft = api.client.post("/v1/compose", headers=alice,
                            json={"mode": "followup", "meeting_id": meeting_id})  # fmt: skip
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["id"]
    sent = {"sent_text": f"Recap: we {CANARIES[2]}."}
    assert api.client.post(f"/v1/compose/{draft_id}/feedback", headers=alice,
                           json=sent).status_code == 201  # fmt: skip
    written = api.runtime.settings.data_dir.parent  # the data folder and the SQLite file
    assert files_quoting(written, CANARIES) and rows_quoting(api, CANARIES)
    before = naming(api, meeting_id)
    assert {"meetings", "jobs", "drafts", "artifacts", "attribution_requests"} <= before

    deleted = api.client.delete(f"/v1/meetings/{meeting_id}", headers=alice)

    assert deleted.status_code == 204, deleted.text
    assert not folder.exists() and not list(folder.parent.iterdir())  # no bytes set aside
    assert files_quoting(written, CANARIES) == []
    assert rows_quoting(api, CANARIES) == []
    assert naming(api, meeting_id) <= NAMING_AFTER
    for path in ("", "/audio", "/transcript"):
        gone = api.client.get(f"/v1/meetings/{meeting_id}{path}", headers=alice)
        assert gone.status_code == 404, (path, gone.text)
    assert api.client.get(f"/v1/jobs/{meeting_id}", headers=alice).status_code == 404
    assert api.client.get(f"/v1/compose/{draft_id}", headers=alice).status_code == 404
    retry = api.client.post(f"/v1/meetings/{meeting_id}/ask", headers=asked, json=question)
    assert retry.status_code == 410 and retry.json()["error"]["code"] == "response_erased"
    again = api.client.delete(f"/v1/meetings/{meeting_id}", headers=alice)
    assert again.status_code == 404 and again.json()["error"]["code"] == "meeting_not_found"
    with read_transaction(api.runtime.engine) as conn:
        art, req = ArtifactRecord, AttributionRequestRecord
        made = conn.execute(
            select(art.id, art.kind, art.input, art.output)
            .where(art.source_id.in_([meeting_id, draft_id]))
        ).all()  # fmt: skip
        requests = conn.execute(
            select(req.items, req.status).where(req.source_id == meeting_id)
        ).all()
    assert {m.kind for m in made} == {"meeting_summary", "transcript", "meeting_answer",
                                      "chat_draft", "chat_final"}  # fmt: skip
    assert all((m.input, m.output) == ({"erased": True},) * 2 for m in made)
    assert requests and all(r == ([], "voided") for r in requests)
    (entry,) = deletions(api)
    assert entry.object_id == meeting_id and entry.actor == api.people["acme", "Alice"].subject_id
    shown = " ".join(str(value) for value in entry)
    assert not [c for c in CANARIES if c in shown]  # ids only: no title, no words
    assert set(entry.facts["erased"]["artifacts"]) == {m.id for m in made}
    assert api.runtime.service.verify().ok


def test_a_deleted_meetings_exported_records_are_tombstoned_and_never_exported_again(
    api: Api,
) -> None:
    meeting_id = consenting_meeting(api, title=TITLE)
    export = build_export(api)
    folder = Path(export_path(api, export["id"]))
    records = set(pq.read_table(folder / "data" / "train-00000.parquet")["record_id"].to_pylist())
    assert export["status"] == "active" and len(records) == export["counts"]["included"] > 0
    # As if kept before artifacts recorded their meeting (migration 0016): found by the
    # claims about its words instead.
    with write_transaction(api.runtime.engine) as conn:
        conn.execute(update(ArtifactRecord).values(source_kind=None, source_id=None))

    deleted = api.client.delete(f"/v1/meetings/{meeting_id}", headers=api.auth("acme", "Alice"))
    assert deleted.status_code == 204, deleted.text

    # Read as the ML exporter would: the export is revoked, and each of its records (all
    # of them this meeting's) has a tombstone saying why, in the API and in its folder.
    ml = api.auth("acme", "ml_exporter")
    revoked = api.client.get(f"/v1/exports/{export['id']}", headers=ml)
    assert revoked.status_code == 410 and revoked.json()["error"]["code"] == "export_revoked"
    stones = api.client.get(f"/v1/exports/{export['id']}/tombstones", headers=ml).json()
    assert {s["record_id"]: s["reason"] for s in stones["items"]} == dict.fromkeys(
        records, "deleted"
    )
    lines = (folder / "tombstones.jsonl").read_text().splitlines()
    assert {json.loads(line)["record_id"] for line in lines} == records
    with read_transaction(api.runtime.engine) as conn:
        statuses = conn.execute(
            select(TrainingCandidateRecord.status, TrainingCandidateRecord.messages)
        ).all()
    # Those kept are purged; one superseded when its speakers confirmed was retired then.
    assert sorted(s.status for s in statuses) == ["purged", "purged", "superseded"]
    assert all(s.messages == [] for s in statuses)
    again = api.client.post("/v1/exports", json={"supersedes": export["id"]}, headers=ml)
    job = wait(api, again.json()["id"], "ml_exporter")
    after = api.client.get(f"/v1/exports/{job['result']['export_id']}", headers=ml).json()
    assert after["counts"]["included"] == 0
    assert api.runtime.service.verify().ok


def test_only_the_owner_can_delete_a_meeting_and_anyone_else_finds_nothing(api: Api) -> None:
    mine = upload(api, "member")
    own_admin = upload(api, "admin")
    theirs = upload(api, "member", tenant="globex")
    missing = api.client.delete(f"/v1/meetings/{uuid.uuid4()}", headers=api.auth()).json()
    attempts = [
        (api.auth("acme", "member2"), mine),  # another member of the tenant
        (api.auth("acme", "admin"), mine),  # the tenant's admin: meetings are their owner's
        (api.auth("globex", "member"), mine),  # another tenant
        (api.auth("globex", "admin"), mine),
        (api.auth("acme", "member"), theirs),
        (api.auth("acme", "member2"), mine[:8]),  # a prefix of someone else's id
        (api.auth("acme", "member"), mine[:8]),  # a prefix: a deletion names the whole id
    ]
    for headers, ref in attempts:
        refused = api.client.delete(f"/v1/meetings/{ref}", headers=headers)
        assert refused.status_code == 404, (headers, ref, refused.text)
        assert refused.json()["error"]["code"] == missing["error"]["code"]
    exporter = api.client.delete(f"/v1/meetings/{mine}", headers=api.auth("acme", "ml_exporter"))
    assert exporter.status_code == 403
    # A signed-in page's cookie, sent from another site: refused before anything happens.
    assert sign_in(api.client, api.tokens["acme", "member"]).status_code == 303
    forged = api.client.delete(f"/v1/meetings/{mine}", headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
    for who, meeting_id in (("member", mine), ("admin", own_admin)):
        kept = api.client.get(f"/v1/meetings/{meeting_id}/audio", headers=api.auth("acme", who))
        assert kept.status_code == 200
    assert deletions(api) == []

    by_page = api.client.delete(f"/v1/meetings/{mine}", headers=SAME_ORIGIN)  # the cookie
    assert by_page.status_code == 204, by_page.text
    api.client.cookies.clear()
    assert api.client.delete(f"/v1/meetings/{own_admin}",
                             headers=api.auth("acme", "admin")).status_code == 204  # fmt: skip
    assert api.client.delete(f"/v1/meetings/{mine}", headers=api.auth()).status_code == 404
    assert api.client.get(f"/v1/meetings/{theirs}",
                          headers=api.auth("globex", "member")).status_code == 200  # fmt: skip
    assert [e.object_id for e in deletions(api)] == [mine, own_admin]


def test_a_meeting_is_not_deleted_while_its_job_still_runs(api: Api) -> None:
    meeting_id = upload(api, "member")
    member = api.auth("acme", "member")

    def set_status(job_id: str, status: str) -> None:
        with write_transaction(api.runtime.engine) as conn:
            conn.execute(update(JobRecord).where(JobRecord.id == job_id).values(status=status))

    set_status(meeting_id, "running")  # a retried job, offering the meeting for training
    busy = api.client.delete(f"/v1/meetings/{meeting_id}", headers=member)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "job_running"
    assert api.client.get(f"/v1/meetings/{meeting_id}/audio", headers=member).status_code == 200
    # An upload whose job has not saved its meeting yet: the same answer, to its owner only.
    person = api.people["acme", "member"]
    pending = create_job(api.runtime.engine, tenant_id=person.tenant_id,
                         owner_id=person.subject_id, kind="meeting", params={}).id  # fmt: skip
    set_status(pending, "running")
    early = api.client.delete(f"/v1/meetings/{pending}", headers=member)
    assert early.status_code == 409 and early.json()["error"]["code"] == "job_running"
    other = api.client.delete(f"/v1/meetings/{pending}", headers=api.auth("acme", "member2"))
    assert other.status_code == 404
    set_status(meeting_id, "succeeded")
    assert api.client.delete(f"/v1/meetings/{meeting_id}", headers=member).status_code == 204


def test_content_of_a_deleted_meeting_offered_afterwards_is_not_kept(api: Api) -> None:
    meeting_id = upload(api, "member")
    tenant_id = api.people["acme", "member"].tenant_id
    stored = find_meeting(api.runtime.engine, tenant_id, meeting_id)
    assert stored.summary is not None
    assert api.client.delete(f"/v1/meetings/{meeting_id}", headers=api.auth()).status_code == 204
    emptied = artifacts_of(api, meeting_id)
    assert emptied and {content for _, content in emptied} == {'{"erased": true}'}
    # What a background task still holding the meeting would offer once it was deleted.
    provenance = Provenance.of_meeting(stored)
    outcomes = api.runtime.offers.summary(tenant_id, stored.transcript, stored.summary,
                                          model_id="m", provenance=provenance)  # fmt: skip
    assert [(o.kept, o.error) for o in outcomes] == [(False, "SourceDeleted")]
    assert artifacts_of(api, meeting_id) == emptied  # nothing new was stored


def test_a_follow_up_whose_meeting_is_deleted_while_it_is_written_is_not_kept(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting_id = upload(api, "member")
    member = api.auth("acme", "member")
    deleted: list[int] = []

    def reply(prompt: str) -> str:
        """The model writes once the meeting was read; meanwhile its owner deletes it."""
        if not deleted:
            deleted.append(api.client.delete(f"/v1/meetings/{meeting_id}", headers=member)
                           .status_code)  # fmt: skip
        return "Thanks, everyone. We ship the beta on Friday."

    monkeypatch.setitem(registry.GENERATORS, "scripted",
                        lambda settings, model: ScriptedGenerator(reply))  # fmt: skip
    drafted = api.client.post("/v1/compose", headers=member,
                              json={"mode": "followup", "meeting_id": meeting_id})  # fmt: skip

    assert deleted == [204]
    assert drafted.status_code == 409, drafted.text
    error = drafted.json()["error"]
    assert error["code"] == "meeting_deleted"
    assert error["message"] == (f"meeting {meeting_id} was deleted while this follow-up was "
                                "being written; the draft was not kept")  # fmt: skip
    # Nothing half-written: no draft, nothing offered for training, the meeting gone.
    assert naming(api, meeting_id) <= NAMING_AFTER
    with read_transaction(api.runtime.engine) as conn:
        assert conn.execute(select(DraftRecord.id)).all() == []
        kinds = conn.execute(select(ArtifactRecord.kind)).scalars().all()
    assert "chat_draft" not in kinds
    gone = api.client.get(f"/v1/meetings/{meeting_id}", headers=member)
    assert gone.status_code == 404
    assert api.runtime.service.verify().ok


def artifacts_of(api: Api, meeting_id: str) -> list[tuple[str, str]]:
    with read_transaction(api.runtime.engine) as conn:
        rows = conn.execute(
            select(ArtifactRecord.id, ArtifactRecord.input).where(
                ArtifactRecord.source_id == meeting_id
            )
        ).all()
    return sorted((row.id, json.dumps(row.input)) for row in rows)


class DeletingRedactor:
    """Redacts nothing, and deletes the offer's source the first time it is asked: a
    deletion landing while a capture is between its decision and keeping the candidate."""

    def __init__(self, world: World, source: tuple[str, str]) -> None:
        self.world, self.source, self.done = world, source, False

    def redact(self, text: str, *, people: Any) -> str:
        if not self.done:
            self.done = True
            self.world.service.delete_source(self.world.tenant_id, actor_id="test",
                                             remove=lambda conn: Removal(self.source))  # fmt: skip
        return text


def test_a_deletion_landing_during_capture_keeps_the_candidate_from_being_kept(
    world: World,
) -> None:
    alice = world.member("Alice")
    world.give(alice)
    source = ("meeting", str(uuid.uuid4()))
    offer = Offer(
        kind=ArtifactKind.MEETING_SUMMARY, data_class=DataClass.DERIVED_CONTENT,
        task="meeting_summary", input={"transcript": "Alice: Ship it."},
        output={"summary": "Ship it."}, contributors=(alice.subject_id,),
        messages=({"role": "user", "content": "Ship it."},
                  {"role": "assistant", "content": "Ship it."}),
        vouched_by=(alice.subject_id,), source=source,
    )  # fmt: skip
    redactor = DeletingRedactor(world, source)
    captured = capture_offer(world.service, redactor, world.tenant_id, offer)  # type: ignore[arg-type]
    assert redactor.done and captured.decision.result.value == "allow"
    assert captured.candidate_id is None and captured.excluded == ("source_deleted",)
    with read_transaction(world.service.engine) as conn:
        assert conn.execute(select(TrainingCandidateRecord.id)).all() == []
        content = conn.execute(select(ArtifactRecord.input)).scalars().all()
    assert content == [{"erased": True}]
    assert world.service.verify().ok


def said_in(source: tuple[str, str], person: str, said: str) -> Offer:
    """A summary of the meeting `source` with only `person` in it."""
    return Offer(
        kind=ArtifactKind.MEETING_SUMMARY, data_class=DataClass.DERIVED_CONTENT,
        task="meeting_summary", input={"transcript": said}, output={"summary": said},
        contributors=(person,), vouched_by=(person,), source=source,
        messages=({"role": "user", "content": said}, {"role": "assistant", "content": said}),
    )  # fmt: skip


def test_a_meeting_deleted_while_an_export_is_written_is_not_published_in_it(
    world: World, redactor: Redactor, tmp_path: Path
) -> None:
    alice = world.member("Alice")
    world.give(alice)
    doomed, other = ("meeting", str(uuid.uuid4())), ("meeting", str(uuid.uuid4()))
    for source, said in ((doomed, "Ship it on Friday."), (other, "Audit the bill.")):
        kept = capture_offer(world.service, redactor, world.tenant_id, said_in(source,
                             alice.subject_id, said))  # fmt: skip
        assert kept.candidate_id is not None, kept.excluded
    service, deleted = world.service, list[Deleted]()

    def delete_meanwhile() -> None:  # after the files are written, before the re-check
        if not deleted:
            removal = Removal(doomed)
            deleted.append(service.delete_source(world.tenant_id, actor_id="test",
                                                 remove=lambda conn: removal))  # fmt: skip

    info = create_export(service.engine, service.writer, world.tenant_id,
                         requested_by=world.admin.subject_id, exports_dir=tmp_path / "exports",
                         hooks=ExportHooks(before_recheck=delete_meanwhile))  # fmt: skip
    assert deleted and deleted[0].exports == ()  # nothing published held it yet
    lines = (Path(info.path) / "openai.jsonl").read_text()
    assert info.status == "active" and info.counts is not None and info.counts["included"] == 1
    assert "Audit the bill." in lines and "Ship it on Friday." not in lines
    assert service.verify().ok


def mk_delete(api: Api, database_url: str, *args: str, stdin: str = "") -> Any:
    """`minutekeeper meetings delete ...` through the console script, as the local admin
    of the tenant `acme`, on the API's database and data folder."""
    env = cli_env() | {"MINUTEKEEPER_LOCAL_TENANT": "acme", "MINUTEKEEPER_LOCAL_USER": "admin"}
    command = [MINUTEKEEPER, "--data-dir",
               str(api.runtime.settings.data_dir), "--database-url", database_url,
               "meetings", "delete", *args]  # fmt: skip
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120,
                          env=env, check=False)  # fmt: skip


def test_the_cli_deletes_a_meeting_by_prefix_once_confirmed(api: Api, database_url: str) -> None:
    meeting_id = upload(api, "member", title="weekly sync")
    folder = media_folder(api.runtime.settings.resolved_media_dir(), meeting_id)
    member = api.auth()
    for stdin, said in (("", "aborted"), ("n\n", "Nothing deleted.")):
        kept = mk_delete(api, database_url, meeting_id[:8], stdin=stdin)
        assert kept.returncode == 1 and said in kept.stdout + kept.stderr, kept
        assert f"Delete meeting {meeting_id} ('weekly sync')" in kept.stdout
        assert api.client.get(f"/v1/meetings/{meeting_id}", headers=member).status_code == 200

    done = mk_delete(api, database_url, meeting_id[:8], stdin="y\n")

    assert done.returncode == 0, done.stderr
    assert f"deleted meeting {meeting_id}: 0 draft(s)" in done.stdout
    assert api.client.get(f"/v1/meetings/{meeting_id}", headers=member).status_code == 404
    assert not folder.exists()
    (entry,) = deletions(api)
    assert entry.object_id == meeting_id
    for args in ((meeting_id, "--yes"), ("nope", "--yes")):
        missing = mk_delete(api, database_url, *args)
        errors = missing.stderr.strip().splitlines()
        assert missing.returncode == 1 and len(errors) == 1, missing
        assert errors[0].startswith("error: no meeting")
