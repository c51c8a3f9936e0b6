"""Issue 20's findings, each as an attack through the real API on SQLite and PostgreSQL:
a consent rule must hold whatever the caller types, sends or replays."""

from __future__ import annotations

import io
import json
import subprocess
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from minutekeeper.consent.domain import Role
from minutekeeper.consent.store import (
    ArtifactRecord,
    AuditEntryRecord,
    ConsentEventRecord,
    GateDecisionRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import create_db_engine, read_transaction
from minutekeeper.core.settings import Settings
from minutekeeper.features.transcription import audio
from minutekeeper.jobs.store import create_job
from minutekeeper.models.asr import SAMPLE_RATE
from tests.conftest import cli_env
from tests.integration.api_support import Api, finished_job, scripted_settings
from tests.integration.test_api_consent import decide, served_notice, states
from tests.integration.test_api_exports import build_export, consenting_meeting
from tests.integration.test_cli import MINUTEKEEPER


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The scripted language model: drafts and answers here need no real model."""
    return scripted_settings(tmp_path, database_url, monkeypatch)


def history(api: Api, who: str = "member") -> list[tuple[str, str, bool]]:
    events = api.client.get("/v1/consent/me/history", headers=api.auth("acme", who)).json()
    return [(e["state"], e["method"], e["gpc"]) for e in events["events"]]


def publish(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"title": "Training", "body": "We keep consented examples.", **fields}
    reply = api.client.post("/v1/admin/notices", json=body, headers=api.auth("acme", "admin"))
    assert reply.status_code == 201, reply.text
    notice: dict[str, Any] = reply.json()["notice"]
    return notice


# --- finding 7: a GPC signal and a give do not flip-flop ------------------------------


def test_a_give_sent_with_gpc_is_refused_and_the_signal_is_honoured(api: Api) -> None:
    notice = served_notice(api)
    reply = decide(api, "given", notice_version_id=notice, headers={"Sec-GPC": "1"})
    assert reply.status_code == 409, reply.text
    assert reply.json()["error"]["code"] == "gpc_signalled"
    assert "override_gpc" in reply.json()["error"]["message"]
    assert history(api) == [("refused", "gpc", True)]


def test_an_explicit_override_is_recorded_and_gpc_never_withdraws_it(api: Api) -> None:
    notice = served_notice(api)
    gpc = {"headers": {"Sec-GPC": "1"}}
    assert decide(api, "given", notice_version_id=notice, **gpc).status_code == 409
    notice = served_notice(api)  # shown again after the signal's opt-out
    given = decide(api, "given", notice_version_id=notice, override_gpc=True, **gpc)
    assert given.status_code == 201, given.text
    assert given.json()["method"] == "gpc_override"
    for _ in range(3):  # the signal keeps coming with every request
        reply = api.client.get("/v1/consent/me", headers={**api.auth(), "Sec-GPC": "1"})
        assert reply.status_code == 200
    assert states(api) == {"train_ai_system": "given"}
    assert history(api) == [("refused", "gpc", True), ("given", "gpc_override", True)]
    withdrawn = decide(api, "withdrawn", **gpc)  # withdrawing needs no override
    assert withdrawn.status_code == 201, withdrawn.text
    assert states(api) == {"train_ai_system": "withdrawn"}


def test_without_an_override_a_give_is_still_withdrawn_by_the_next_gpc_request(api: Api) -> None:
    notice = served_notice(api)
    assert decide(api, "given", notice_version_id=notice).status_code == 201
    api.client.get("/v1/consent/me", headers={**api.auth(), "Sec-GPC": "1"})
    assert states(api) == {"train_ai_system": "withdrawn"}


# --- finding 4: a give names the current notice, read after the last opt-out ------------


def test_a_give_against_a_superseded_notice_version_is_refused(api: Api) -> None:
    old = served_notice(api)
    publish(api, material_change=True)
    reply = decide(api, "given", notice_version_id=old)
    assert reply.status_code == 409, reply.text
    assert reply.json()["error"]["code"] == "notice_superseded"
    assert states(api) == {}
    assert decide(api, "given", notice_version_id=served_notice(api)).status_code == 201


def test_a_give_against_any_older_version_is_refused_even_without_a_material_flag(
    api: Api,
) -> None:
    old = served_notice(api)
    publish(api)  # a reworded notice the publisher calls immaterial
    reply = decide(api, "given", notice_version_id=old)
    assert reply.status_code == 409
    assert reply.json()["error"]["code"] == "notice_superseded"


def test_a_serving_from_before_a_withdrawal_does_not_support_a_new_give(api: Api) -> None:
    notice = served_notice(api)
    assert decide(api, "given", notice_version_id=notice).status_code == 201
    assert decide(api, "withdrawn").status_code == 201
    again = decide(api, "given", notice_version_id=notice)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "notice_not_served"
    assert states(api) == {"train_ai_system": "withdrawn"}
    assert decide(api, "given", notice_version_id=served_notice(api)).status_code == 201


# --- finding 5: only the person records their consent -----------------------------------


def mk_on(
    database_url: str, data_dir: Path, user: str, *args: str, env: dict[str, str] | None = None
) -> Any:
    env = cli_env() | (env or {})
    env["MINUTEKEEPER_LOCAL_USER"] = user
    return subprocess.run(
        [MINUTEKEEPER, "--data-dir", str(data_dir), "--database-url", database_url, *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def test_the_cli_records_consent_only_for_the_owner_of_a_single_user_install(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert mk_on(database_url, data, "alice", "consent", "notice", "publish").returncode == 0
    own = mk_on(database_url, data, "alice", "consent", "give", "--yes")
    assert own.returncode == 0, own.stderr
    other = mk_on(database_url, data, "bob", "consent", "give", "--yes")
    assert other.returncode == 1
    assert other.stderr.startswith("error: this install has several people")
    # Bob's run made the install multi-user for good: not even its owner goes on without
    # a session of their own.
    again = mk_on(database_url, data, "alice", "consent", "withdraw")
    assert again.returncode == 1 and "own session" in again.stderr
    events = mk_on(database_url, data, "alice", "consent", "history", "--json")
    assert [(e["state"], e["via"]) for e in json.loads(events.stdout)] == [("given", "local-owner")]


def test_a_token_holders_consent_is_theirs_alone_to_record(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert mk_on(database_url, data, "admin", "consent", "notice", "publish").returncode == 0
    made = mk_on(database_url, data, "admin", "tokens", "create", "--subject", "Bob")
    assert made.returncode == 0, made.stderr
    forged = mk_on(database_url, data, "Bob", "consent", "give", "--yes")
    assert forged.returncode == 1 and "own session" in forged.stderr
    refused = mk_on(database_url, data, "Bob", "consent", "refuse")
    assert refused.returncode == 1
    engine = create_db_engine(Settings(data_dir=data, database_url=database_url))
    with read_transaction(engine) as conn:
        count = conn.execute(select(func.count()).select_from(ConsentEventRecord)).scalar_one()
        actions = conn.execute(select(AuditEntryRecord.action)).scalars().all()
    engine.dispose()
    assert count == 0
    assert "token.issued" in actions and "tenant.multi_user" in actions


def test_an_api_decision_records_the_token_it_came_through(api: Api) -> None:
    notice = served_notice(api)
    given = decide(api, "given", notice_version_id=notice)
    token_id = api.tokens["acme", "member"].split("_")[1]
    assert given.json()["via"] == f"token:{token_id}"


# --- finding 3: the terms a person agreed to bound what is kept under their consent ------


def alone(name: str) -> bytes:
    """A subtitle file in which only `name` speaks."""
    cues = [
        "We will ship the release on Thursday.",
        "The budget for the launch stays at ten thousand.",
        "I will write the announcement by Friday.",
    ]
    body = "".join(
        f"00:00:{2 * i:02d}.000 --> 00:00:{2 * i + 2:02d}.000\n<v {name}>{text}\n\n"
        for i, text in enumerate(cues)
    )
    return f"WEBVTT\n\n{body}".encode()


def upload_job(api: Api, who: str, content: bytes, **form: str) -> dict[str, Any]:
    """Upload `content` as `who`; the finished job."""
    files = {"recording": ("meeting.vtt", content, "text/vtt")}
    accepted = api.client.post("/v1/meetings", files=files, data=form,
                               headers=api.auth("acme", who))  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    job = finished_job(api.client, accepted.json()["job"]["id"], api.auth("acme", who))
    assert job["status"] == "succeeded", job
    return job


def uploaded_meeting(api: Api, who: str, content: bytes, **form: str) -> str:
    meeting_id: str = upload_job(api, who, content, **form)["result"]["meeting_id"]
    return meeting_id


def uploaded(api: Api, who: str, content: bytes, **form: str) -> dict[str, str]:
    """Upload `content` as `who` and wait for it; what training kept, by artifact kind."""
    job = upload_job(api, who, content, **form)
    return {
        t["kind"]: "kept" if t["kept"] else ",".join(t["reasons"])
        for t in job["result"]["training"]
    }


def consents(api: Api, name: str) -> None:
    if ("acme", name) not in api.tokens:
        api.add_person("acme", name, Role.MEMBER)
    given = decide(api, "given", name, notice_version_id=served_notice(api, name))
    assert given.status_code == 201, given.text


def kept_days(api: Api) -> list[int]:
    """Each eligible candidate's retention in days, as stored, newest last."""
    with read_transaction(api.runtime.engine) as conn:
        rows = conn.execute(
            select(TrainingCandidateRecord.captured_at, TrainingCandidateRecord.expires_at)
            .where(TrainingCandidateRecord.status == "eligible")
            .order_by(TrainingCandidateRecord.captured_at)
        ).all()
    return [round((r.expires_at - r.captured_at) / timedelta(days=1)) for r in rows]


def test_longer_retention_is_a_material_change_whatever_the_publisher_says(api: Api) -> None:
    consents(api, "Alice")
    publish(api, body="Examples may be sold to partners.", retention_days=3650,
            material_change=False)  # fmt: skip
    training = uploaded(api, "Alice", alone("Alice"))
    denied = "NON_CONSENTING_CONTRIBUTOR,NOTICE_VERSION_MISMATCH"
    assert training == {"meeting_summary": denied, "transcript": denied}
    assert kept_days(api) == []
    consents(api, "Alice")  # she reads the new terms and agrees to them
    assert uploaded(api, "Alice", alone("Alice")) == {"meeting_summary": "kept",
                                                       "transcript": "kept"}  # fmt: skip
    assert kept_days(api) == [3650, 3650]


def test_a_new_recipient_is_a_material_change(api: Api) -> None:
    consents(api, "Alice")
    publish(api, recipients=["Initech Labs"])
    training = uploaded(api, "Alice", alone("Alice"))
    assert "NOTICE_VERSION_MISMATCH" in training["meeting_summary"]


def test_shorter_retention_applies_at_once_to_what_is_kept(api: Api) -> None:
    consents(api, "Alice")
    assert uploaded(api, "Alice", alone("Alice")) == {"meeting_summary": "kept",
                                                       "transcript": "kept"}  # fmt: skip
    assert kept_days(api) == [365, 365]
    publish(api, retention_days=30)  # narrower: her consent to the first version still holds
    assert kept_days(api) == [30, 30]
    assert uploaded(api, "Alice", alone("Alice")) == {"meeting_summary": "kept",
                                                       "transcript": "kept"}  # fmt: skip
    assert kept_days(api) == [30, 30, 30, 30]


def test_a_kind_the_current_notice_drops_is_no_longer_kept(api: Api) -> None:
    consents(api, "Alice")
    publish(api, artifact_kinds=["transcript"])
    training = uploaded(api, "Alice", alone("Alice"))
    assert training["transcript"] == "kept"
    assert "NOTICE_SCOPE_MISMATCH" in training["meeting_summary"]


# --- finding 6: the tenant's switches reach what is already published --------------------


def switch(api: Api, **body: Any) -> Any:
    return api.client.patch("/v1/admin/tenant", json=body, headers=api.auth("acme", "admin"))


def test_training_sharing_off_revokes_published_exports_once_confirmed(api: Api) -> None:
    consenting_meeting(api)
    export = build_export(api)
    asked = switch(api, training_sharing_enabled=False)
    assert asked.status_code == 409, asked.text
    assert asked.json()["error"]["code"] == "confirmation_required"
    assert "revokes 1 published export(s) and retires 2 kept" in asked.json()["error"]["message"]
    assert switch(api).json()["training_sharing_enabled"] is True  # nothing changed yet
    done = switch(api, training_sharing_enabled=False, confirm=True)
    assert done.status_code == 200 and done.json()["training_sharing_enabled"] is False
    ml = api.auth("acme", "ml_exporter")
    gone = api.client.get(f"/v1/exports/{export['id']}/download", headers=ml)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "export_revoked"
    stones = api.client.get(f"/v1/exports/{export['id']}/tombstones", headers=ml).json()["items"]
    assert [s["reason"] for s in stones] == ["training_sharing_off"] * 2
    # Turning it on again does not bring back what was kept before.
    assert switch(api, training_sharing_enabled=True).status_code == 200
    assert build_export(api)["counts"]["included"] == 0


def test_ai_features_off_refuses_every_ai_feature_and_cancels_queued_jobs(api: Api) -> None:
    consents(api, "Alice")
    meeting = uploaded_meeting(api, "Alice", alone("Alice"))
    queued = create_job(api.runtime.engine, tenant_id=api.people["acme", "Alice"].tenant_id,
                        owner_id=api.people["acme", "Alice"].subject_id, kind="meeting",
                        params={})  # fmt: skip
    asked = switch(api, ai_features_enabled=False)
    assert asked.status_code == 409  # Alice's summary and transcript are kept
    assert switch(api, ai_features_enabled=False, confirm=True).status_code == 200
    alice = api.auth("acme", "Alice")
    job = api.client.get(f"/v1/jobs/{queued.id}", headers=alice).json()
    assert job["status"] == "failed" and job["error"]["code"] == "cancelled"
    files = {"recording": ("meeting.vtt", alone("Alice"), "text/vtt")}
    refusals = [
        api.client.post("/v1/meetings", files=files, headers=alice),
        api.client.post(
            f"/v1/meetings/{meeting}/ask", json={"question": "When do we ship?"}, headers=alice
        ),
        api.client.post(
            "/v1/compose",
            json={"instruction": "say we ship Thursday", "mode": "rewrite"},
            headers=alice,
        ),
    ]
    for reply in refusals:
        assert reply.status_code == 409, reply.text
        assert reply.json()["error"]["code"] == "ai_features_off"
    assert switch(api, ai_features_enabled=True).status_code == 200
    assert uploaded(api, "Alice", alone("Alice"))["meeting_summary"] == "kept"


# --- finding 2: content is judged at its own time, which only its contributors vouch for ---


def spoken(*lines: tuple[str, str]) -> bytes:
    """A subtitle file: (speaker, text) cues in order."""
    body = "".join(
        f"00:00:{2 * i:02d}.000 --> 00:00:{2 * i + 2:02d}.000\n<v {who}>{text}\n\n"
        for i, (who, text) in enumerate(lines)
    )
    return f"WEBVTT\n\n{body}".encode()


MEETING = spoken(
    ("Alice", "We will ship the release on Thursday."),
    ("Carol", "The salary figures for the team stay confidential."),
    ("Alice", "I will write the announcement by Friday."),
)


def withdrew_and_came_back(api: Api, name: str) -> None:
    consents(api, name)
    assert decide(api, "withdrawn", name).status_code == 201
    consents(api, name)


def test_a_stated_date_before_consent_keeps_nothing_of_the_meeting(api: Api) -> None:
    consents(api, "Alice")
    withdrew_and_came_back(api, "Carol")
    training = uploaded(api, "Alice", MEETING, meeting_date="2020-01-01")
    assert "CONSENT_AFTER_CAPTURE" in training["meeting_summary"]
    assert "CONSENT_AFTER_CAPTURE" in training["transcript"]
    # Carol confirming the words are hers vouches for their time, which is before she
    # came back: still nothing of it is kept.
    (request,) = requests(api, "Carol")
    assert answer(api, "Carol", request, "me").status_code == 200
    assert kept_days(api) == []


def test_a_confirmation_vouches_for_the_time_of_the_words_confirmed(api: Api) -> None:
    consents(api, "Alice")
    withdrew_and_came_back(api, "Carol")
    training = uploaded(api, "Alice", MEETING)  # no date stated: the upload's time
    assert "UNVERIFIED" in training["meeting_summary"]
    assert training["transcript"] == "kept"  # Alice's own segments alone
    assert "salary" not in kept_texts(api)
    (request,) = requests(api, "Carol")
    assert answer(api, "Carol", request, "me").status_code == 200
    assert "salary" in kept_texts(api)  # offered again, at the time Carol vouched for


def test_a_meeting_dated_the_day_of_consent_may_predate_it(api: Api) -> None:
    consents(api, "Alice")
    today = datetime.now(UTC).date().isoformat()
    training = uploaded(api, "Alice", alone("Alice"), meeting_date=today)
    assert "CONSENT_AFTER_CAPTURE" in training["meeting_summary"]


# --- finding 1: a typed name is a claim until the named person confirms it ---------------

SECRET = "The salary budget is forty thousand."
BOB_SAYS = spoken(
    ("Alice", "We ship the release on Thursday."),
    ("Bob", SECRET),
    ("Alice", "I will write the announcement."),
)


def requests(api: Api, who: str) -> list[dict[str, Any]]:
    reply = api.client.get("/v1/attributions", headers=api.auth("acme", who))
    assert reply.status_code == 200, reply.text
    listed: list[dict[str, Any]] = reply.json()["items"]
    return listed


def answer(api: Api, who: str, request: dict[str, Any], verdict: str) -> Any:
    body = {"answers": {item["id"]: verdict for item in request["items"]}}
    return api.client.post(f"/v1/attributions/{request['id']}/answer", json=body,
                           headers=api.auth("acme", who))  # fmt: skip


def kept_texts(api: Api) -> str:
    with read_transaction(api.runtime.engine) as conn:
        rows = conn.execute(
            select(TrainingCandidateRecord.messages).where(
                TrainingCandidateRecord.status == "eligible"
            )
        ).scalars()
        return json.dumps(list(rows))


def test_renaming_a_speaker_to_a_consenting_member_keeps_nothing_of_their_words(
    api: Api,
) -> None:
    consents(api, "Alice")
    consents(api, "Carol")
    api.add_person("acme", "Bob", Role.MEMBER)  # never consented
    meeting = uploaded_meeting(api, "Alice", BOB_SAYS)
    labels = api.client.get(f"/v1/meetings/{meeting}", headers=api.auth("acme", "Alice")).json()
    bob_label = next(s["id"] for s in labels["transcript"]["speakers"] if s["name"] == "Bob")
    renamed = api.client.patch(f"/v1/meetings/{meeting}/speakers", json={"names": {
        bob_label: "Carol"}}, headers=api.auth("acme", "Alice"))  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    asked = api.client.post(f"/v1/meetings/{meeting}/ask", json={"question": "What is the "
                            "salary budget?"}, headers=api.auth("acme", "Alice"))  # fmt: skip
    assert asked.status_code == 200, asked.text
    assert "salary" not in kept_texts(api).lower()
    export = build_export(api)
    ml = api.auth("acme", "ml_exporter")
    tar = api.client.get(f"/v1/exports/{export['id']}/download", headers=ml)
    assert b"forty thousand" not in tar.content
    # Carol is asked about exactly the words now attributed to her, and nothing else.
    (request,) = requests(api, "Carol")
    assert [i["text"] for i in request["items"]] == [SECRET]
    assert request["status"] == "pending"
    assert answer(api, "Carol", request, "not_me").json()["status"] == "rejected"
    assert "salary" not in kept_texts(api).lower()


def test_a_voice_tag_naming_a_member_counts_only_once_they_confirm(api: Api) -> None:
    consents(api, "Alice")
    consents(api, "Bob")
    training = uploaded(api, "Alice", BOB_SAYS)
    assert "UNVERIFIED" in training["meeting_summary"]
    assert training["transcript"] == "kept"  # Alice's own segments
    assert "salary" not in kept_texts(api).lower()
    (request,) = requests(api, "Bob")
    assert [i["text"] for i in request["items"]] == [SECRET]
    assert request["audio"] is False  # a subtitle file: nothing to hear
    url = f"/v1/attributions/{request['id']}/items/{request['items'][0]['id']}/audio"
    assert (
        api.client.get(url, headers=api.auth("acme", "Bob")).json()["error"]["code"] == "no_audio"
    )
    refused = answer(api, "Alice", request, "me")  # only Bob answers for Bob
    assert refused.status_code == 404
    confirmed = answer(api, "Bob", request, "me")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    # Everyone named has confirmed: the meeting is offered again at its own time.
    deadline = time.monotonic() + 30
    while "forty thousand" not in kept_texts(api) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "forty thousand" in kept_texts(api)


def alice_composes(api: Api, thread: list[dict[str, str]]) -> None:
    made = api.client.post("/v1/compose", json={"thread": thread, "instruction": "say thanks"},
                           headers=api.auth("acme", "Alice"))  # fmt: skip
    assert made.status_code == 201, made.text


def requested(api: Api, who: str) -> dict[str, Any]:
    """`who`'s one request, once the compose that asks it has run."""
    deadline = time.monotonic() + 10
    while not requests(api, who) and time.monotonic() < deadline:
        time.sleep(0.1)
    (request,) = requests(api, who)
    return request


def test_a_thread_author_is_a_claim_and_the_draft_stays_out(api: Api) -> None:
    consents(api, "Alice")
    consents(api, "Carol")
    thread = [{"author": "Carol", "text": SECRET}, {"author": "Alice", "text": "Thanks!"}]
    alice_composes(api, thread)
    request = requested(api, "Carol")
    assert request["source_kind"] == "draft" and [i["text"] for i in request["items"]] == [SECRET]
    assert "salary" not in kept_texts(api).lower()


def draft_decisions(api: Api) -> list[list[str]]:
    """The reasons of each decision about a draft, oldest first."""
    with read_transaction(api.runtime.engine) as conn:
        rows = conn.execute(
            select(GateDecisionRecord.reasons)
            .join(ArtifactRecord, ArtifactRecord.id == GateDecisionRecord.artifact_id)
            .where(ArtifactRecord.kind == "chat_draft")
            .order_by(GateDecisionRecord.decided_at)
        ).scalars()
        return [list(r) for r in rows]


def confirm_thread(api: Api, who: str) -> None:
    """`who` confirms the messages attributed to them, and the draft is offered again."""
    request = requested(api, who)
    assert answer(api, who, request, "me").json()["status"] == "confirmed"
    deadline = time.monotonic() + 30
    while len(draft_decisions(api)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_thread_authors_confirmation_offers_the_draft_again(api: Api) -> None:
    consents(api, "Alice")
    consents(api, "Carol")
    thread = [{"author": "Carol", "text": SECRET}, {"author": "Alice", "text": "Thanks!"}]
    alice_composes(api, thread)
    confirm_thread(api, "Carol")
    decisions = draft_decisions(api)
    assert "UNVERIFIED" in decisions[0] and decisions[1] == [], decisions
    assert "forty thousand" in kept_texts(api)


def test_a_draft_offered_again_is_judged_at_the_time_it_was_written(api: Api) -> None:
    consents(api, "Alice")
    consents(api, "Carol")
    thread = [{"author": "Carol", "text": SECRET}]
    alice_composes(api, thread)
    # Alice's consent breaks after she wrote the draft: her new consent does not reach back.
    assert decide(api, "withdrawn", "Alice").status_code == 201
    consents(api, "Alice")
    confirm_thread(api, "Carol")
    decisions = draft_decisions(api)
    assert len(decisions) == 2 and "CONSENT_AFTER_CAPTURE" in decisions[1], decisions
    assert "forty thousand" not in kept_texts(api)


def test_the_cli_shows_a_persons_requests_but_answers_only_for_a_single_user_owner(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert mk_on(database_url, data, "alice", "consent", "notice", "publish").returncode == 0
    on = ("consent", "tenant", "set", "--training-sharing", "on")
    assert mk_on(database_url, data, "alice", *on).returncode == 0  # else nothing is said
    assert (
        mk_on(database_url, data, "alice", "tokens", "create", "--subject", "Bob").returncode == 0
    )
    meeting = tmp_path / "meeting.vtt"
    meeting.write_bytes(BOB_SAYS)
    saved = mk_on(database_url, data, "alice", "summarize", str(meeting), "--save",
                  "--engine", "extractive")  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert "UNVERIFIED" in saved.stderr
    listed = mk_on(database_url, data, "Bob", "attributions", "list")
    assert listed.returncode == 0 and "pending" in listed.stdout, listed.stdout
    request_id = listed.stdout.split()[0]
    shown = mk_on(database_url, data, "Bob", "attributions", "show", request_id)
    assert SECRET in shown.stdout and "ship the release" not in shown.stdout
    forged = mk_on(database_url, data, "Bob", "attributions", "answer", request_id, "--mine")
    assert forged.returncode == 1 and "own session" in forged.stderr


def test_a_rename_away_voids_a_confirmation_and_naming_them_again_asks_again(api: Api) -> None:
    consents(api, "Alice")
    consents(api, "Bob")
    consents(api, "Carol")
    meeting = uploaded_meeting(api, "Alice", BOB_SAYS)
    (request,) = requests(api, "Bob")
    assert answer(api, "Bob", request, "me").json()["status"] == "confirmed"
    assert "forty thousand" in kept_texts(api)
    shown = api.client.get(f"/v1/meetings/{meeting}", headers=api.auth("acme", "Alice")).json()
    label = next(s["id"] for s in shown["transcript"]["speakers"] if s["name"] == "Bob")
    for name in ("Carol", "Bob"):
        renamed = api.client.patch(f"/v1/meetings/{meeting}/speakers",
                                   json={"names": {label: name}},
                                   headers=api.auth("acme", "Alice"))  # fmt: skip
        assert renamed.status_code == 200, renamed.text
        assert "forty thousand" not in kept_texts(api)  # withdrawn at once, published or not
    (again,) = requests(api, "Bob")
    assert again["status"] == "pending"  # his earlier answer no longer stands
    assert [r["status"] for r in requests(api, "Carol")] == ["voided"]


def test_a_rename_that_swaps_two_confirmed_speakers_withdraws_once_per_export(api: Api) -> None:
    for name in ("Alice", "Bob", "Carol"):
        consents(api, name)
    lines = [("Alice", "We ship."), ("Bob", SECRET), ("Carol", "The venue is booked.")]
    meeting = uploaded_meeting(api, "Alice", spoken(*lines))
    for name in ("Bob", "Carol"):
        (request,) = requests(api, name)
        assert answer(api, name, request, "me").json()["status"] == "confirmed"
    deadline = time.monotonic() + 30
    while "venue" not in kept_texts(api) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Each answer holds one of the two people's words: examples apart from the meeting's.
    for question in ("What is the salary budget?", "Is the venue booked?"):
        asked = api.client.post(f"/v1/meetings/{meeting}/ask", json={"question": question},
                                headers=api.auth("acme", "Alice"))  # fmt: skip
        assert asked.status_code == 200, asked.text
    export = build_export(api)
    assert export["counts"]["by_task"]["meeting_answer"] == 2, export["counts"]
    shown = api.client.get(f"/v1/meetings/{meeting}", headers=api.auth("acme", "Alice")).json()
    label = {s["name"]: s["id"] for s in shown["transcript"]["speakers"]}
    swapped = api.client.patch(f"/v1/meetings/{meeting}/speakers",
                               json={"names": {label["Bob"]: "Carol", label["Carol"]: "Bob"}},
                               headers=api.auth("acme", "Alice"))  # fmt: skip
    assert swapped.status_code == 200, swapped.text
    assert "forty thousand" not in kept_texts(api) and "venue" not in kept_texts(api)
    # Both confirmations were voided by one change: the export is tombstoned once.
    with read_transaction(api.runtime.engine) as conn:
        entries = conn.execute(
            select(func.count()).where(
                AuditEntryRecord.action == "export.tombstoned",
                AuditEntryRecord.object_id == export["id"],
            )
        ).scalar_one()
    assert entries == 1
    tombs = api.client.get(f"/v1/exports/{export['id']}/tombstones",
                           headers=api.auth("acme", "ml_exporter")).json()["items"]  # fmt: skip
    assert tombs and {t["reason"] for t in tombs} == {"attribution_voided"}, tombs
    assert next(r["status"] for r in requests(api, "Bob")) == "pending"  # asked again


# --- found by an attacker's-eye review of the above ---------------------------------------


def test_a_follow_up_is_judged_at_its_meetings_time_not_the_drafts(api: Api) -> None:
    consents(api, "Alice")
    withdrew_and_came_back(api, "Bob")
    memo = spoken(("Alice", "We ship on Thursday."), ("Bob", "I will write the salary memo."))
    meeting = uploaded_meeting(api, "Alice", memo, meeting_date="2020-01-01")
    (request,) = requests(api, "Bob")
    assert answer(api, "Bob", request, "me").json()["status"] == "confirmed"
    body = {"mode": "followup", "meeting_id": meeting, "instruction": "follow up"}
    made = api.client.post("/v1/compose", json=body, headers=api.auth("acme", "Alice"))
    assert made.status_code == 201, made.text
    assert "salary memo" not in kept_texts(api).lower()


def test_a_pasted_messages_own_time_counts_where_it_denies(api: Api) -> None:
    consents(api, "Alice")
    withdrew_and_came_back(api, "Carol")
    thread = [{"author": "Carol", "text": SECRET, "time": "2020-01-01T10:00:00Z"}]
    made = api.client.post("/v1/compose", json={"thread": thread, "instruction": "say thanks"},
                           headers=api.auth("acme", "Alice"))  # fmt: skip
    assert made.status_code == 201, made.text
    (request,) = requests(api, "Carol")
    assert answer(api, "Carol", request, "me").json()["status"] == "confirmed"
    sent = api.client.post(f"/v1/compose/{made.json()['id']}/feedback",
                           json={"sent_text": "Thanks, Carol."},
                           headers=api.auth("acme", "Alice"))  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert "forty thousand" not in kept_texts(api)


def test_a_replayed_give_still_meets_the_gpc_signal(api: Api) -> None:
    notice = served_notice(api)
    key = {"Idempotency-Key": "give-k1"}
    assert decide(api, "given", notice_version_id=notice, headers=key).status_code == 201
    again = decide(api, "given", notice_version_id=notice, headers={**key, "Sec-GPC": "1"})
    assert again.status_code == 409, again.text
    assert states(api) == {"train_ai_system": "withdrawn"}


# --- own tracks: a microphone also hears the people near it ------------------------------

AUDIO = Path(__file__).parents[1] / "fixtures" / "audio"


def test_words_heard_louder_on_another_track_are_not_kept_as_the_track_owners(
    api: Api,
) -> None:
    # Bob (never consented) says his sentence into his microphone; Alice's picks it up
    # faintly before she says her own. Alice uploads both tracks with her own token.
    (bob,) = audio.decode(AUDIO / "one_speaker.flac")  # "The quarterly roadmap review ..."
    (two,) = audio.decode(AUDIO / "two_speakers.wav")
    own = two[: int(3.2 * SAMPLE_RATE)]  # "Hello Maria, did you read the travel budget?"
    alice_track = np.concatenate([0.3 * bob, own])
    bob_track = np.concatenate([bob, np.zeros_like(own)])
    consents(api, "Alice")
    api.add_person("acme", "Bob", Role.MEMBER)
    files = [("track", ("alice.wav", audio.to_wav(alice_track), "audio/wav")),
             ("track", ("bob.wav", audio.to_wav(bob_track), "audio/wav"))]  # fmt: skip
    accepted = api.client.post("/v1/meetings", files=files, data={"track_name": ["Alice", "Bob"]},
                               headers=api.auth("acme", "Alice"))  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    job = finished_job(api.client, accepted.json()["job"]["id"], api.auth("acme", "Alice"),
                       timeout=110)  # fmt: skip
    assert job["status"] == "succeeded", job
    meeting = api.client.get(f"/v1/meetings/{job['result']['meeting_id']}",
                             headers=api.auth("acme", "Alice")).json()  # fmt: skip
    segments = meeting["transcript"]["segments"]
    # Alice's microphone did carry Bob's words, and the transcript says whose track was louder.
    heard = [s for s in segments if s["speaker"] == "Alice" and "roadmap" in s["text"].lower()]
    assert heard and all(s.get("louder") == "Bob" for s in heard), segments
    training = {t["kind"]: t for t in job["result"]["training"]}
    assert training["transcript"]["kept"] is True  # Alice's own words
    assert not training["meeting_summary"]["kept"]  # Bob's are in it
    kept = kept_texts(api).lower()
    assert "travel budget" in kept and "roadmap" not in kept
    # Bob, named by Alice's track name, is asked about his track's words and can hear just
    # those moments, cut from the meeting's tracks; no one else can.
    (request,) = requests(api, "Bob")
    assert request["audio"] is True
    item = request["items"][0]
    url = f"/v1/attributions/{request['id']}/items/{item['id']}/audio"
    sound = api.client.get(url, headers=api.auth("acme", "Bob"))
    assert sound.status_code == 200 and sound.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(sound.content)) as played:
        seconds = played.getnframes() / played.getframerate()
    assert abs(seconds - (item["end"] - item["start"])) < 0.05
    assert api.client.get(url, headers=api.auth("acme", "Alice")).status_code == 404
