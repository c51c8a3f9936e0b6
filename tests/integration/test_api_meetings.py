"""Meetings over HTTP: upload -> job -> transcript and summary; what a bad upload gets;
jobs that survive a restart."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import update

from minutekeeper.core.db import table_of, utcnow
from minutekeeper.core.settings import Settings
from minutekeeper.features.meetings.media import media_folder
from minutekeeper.jobs import store
from minutekeeper.runtime import Runtime
from tests.integration.api_support import Api, finished_job, running_api


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: uploads and jobs use plain row updates; consent, authorization and exports
    run on both databases; the suite must stay inside CI's time."""
    return f"sqlite:///{tmp_path / 'minutekeeper.db'}"


EXAMPLES = Path(__file__).parents[2] / "examples"
AUDIO = Path(__file__).parents[1] / "fixtures" / "audio"


def upload(api: Api, path: Path, who: str = "member", **form: Any) -> Any:
    with path.open("rb") as handle:
        files = {"recording": (path.name, handle, "application/octet-stream")}
        return api.client.post(
            "/v1/meetings", files=files, data=form, headers=api.auth("acme", who)
        )


def finished(api: Api, job_id: str, who: str = "member", timeout: float = 60) -> dict[str, Any]:
    return finished_job(api.client, job_id, api.auth("acme", who), timeout=timeout)


def watch_stages(api: Api) -> None:
    """Keep every write of a job's stage and progress, each a state a client polling the
    job could see (its event stream polls the row): a trigger on the jobs table (SQLite)."""
    with api.runtime.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE seen (n INTEGER PRIMARY KEY AUTOINCREMENT, "
                             "job_id TEXT, stage TEXT, progress REAL)")  # fmt: skip
        conn.exec_driver_sql("CREATE TRIGGER seen_jobs AFTER UPDATE ON jobs BEGIN "
                             "INSERT INTO seen (job_id, stage, progress) "
                             "VALUES (NEW.id, NEW.stage, NEW.progress); END")  # fmt: skip


def stages_seen(api: Api, job_id: str) -> list[str]:
    """The job's stages in the order its row went through them; its progress never went
    back on the way."""
    with api.runtime.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT stage, progress FROM seen WHERE job_id = ? ORDER BY n", (job_id,)
        ).all()
    progress = [row.progress for row in rows]
    assert progress == sorted(progress), rows
    return [stage for n, (stage, _) in enumerate(rows) if n == 0 or rows[n - 1].stage != stage]


def test_a_subtitle_upload_becomes_a_meeting_with_transcript_and_summary(api: Api) -> None:
    accepted = upload(api, EXAMPLES / "meeting.vtt", title="Planning")
    assert accepted.status_code == 202, accepted.text
    meeting_id = accepted.json()["meeting_id"]
    job = finished(api, accepted.json()["job"]["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["meeting_id"] == meeting_id and job["progress"] == 1.0
    assert store.get_job(api.runtime.engine, meeting_id).params == {}  # names are not kept
    got = api.client.get(f"/v1/meetings/{meeting_id}", headers=api.auth()).json()
    assert got["meeting"]["title"] == "Planning" and got["meeting"]["summarized"]
    assert {s["name"] for s in got["transcript"]["speakers"]} == {"Alice", "Bob", "Carol"}
    cited = {c["segment_id"] for p in got["summary"]["decisions"] for c in p["citations"]}
    assert cited <= {s["id"] for s in got["transcript"]["segments"]}
    md = api.client.get(f"/v1/meetings/{meeting_id}/summary?format=md", headers=api.auth())
    assert md.headers["content-type"].startswith("text/markdown") and "## Decisions" in md.text
    vtt = api.client.get(f"/v1/meetings/{meeting_id}/transcript?format=vtt", headers=api.auth())
    assert vtt.text.startswith("WEBVTT")
    listed = api.client.get("/v1/meetings", headers=api.auth()).json()
    assert [m["id"] for m in listed["items"]] == [meeting_id] and listed["next_cursor"] is None


def test_a_transcript_upload_goes_through_its_stages_and_the_stream_ends_finished(
    api: Api,
) -> None:
    watch_stages(api)
    accepted = upload(api, EXAMPLES / "meeting.srt").json()
    job_id = accepted["job"]["id"]
    assert accepted["job"]["stage"] == "queued" and accepted["job"]["stage_progress"] is None
    with api.client.stream("GET", f"/v1/jobs/{job_id}/events",
                           headers=api.auth()) as stream:  # fmt: skip
        body = "".join(stream.iter_text())
    events = [
        line.removeprefix("event: ") for line in body.splitlines() if line.startswith("event:")
    ]
    assert events[-1] == "succeeded" and set(events[:-1]) <= {"progress"}
    sent = [json.loads(line.removeprefix("data: ")) for line in body.splitlines()
            if line.startswith("data:")]  # fmt: skip
    assert [e["progress"] for e in sent] == sorted(e["progress"] for e in sent)
    assert sent[-1]["stage"] == "done" and sent[-1]["progress"] == 1.0
    assert all(e["stage_progress"] is None for e in sent)  # no stage here measures its share
    # A transcript file is neither transcribed nor diarized.
    expected = ["starting", "preparing_models", "summarizing", "offering", "done"]
    assert stages_seen(api, job_id) == expected
    assert [e["stage"] for e in sent] == [s for s in ["queued", *expected]
                                          if s in {e["stage"] for e in sent}]  # fmt: skip


def test_speakers_are_renamed_and_their_action_items_follow(api: Api) -> None:
    meeting_id = upload(api, EXAMPLES / "meeting.vtt").json()["meeting_id"]
    finished(api, meeting_id)
    renamed = api.client.patch(f"/v1/meetings/{meeting_id}/speakers",
                               json={"names": {"Bob": "Robert"}}, headers=api.auth())  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert "Robert" in {s["name"] for s in body["transcript"]["speakers"]}
    owners = {item["owner"] for item in body["summary"]["action_items"]}
    assert "Bob" not in owners
    unknown = api.client.patch(f"/v1/meetings/{meeting_id}/speakers",
                               json={"names": {"S9": "Zed"}}, headers=api.auth())  # fmt: skip
    assert unknown.status_code == 422


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("one_speaker.txt", 415, "unsupported_media_type"),
        ("not_audio.wav", 422, "unreadable_audio"),
        ("two_speakers.json", 422, "invalid_transcript"),
    ],
)
def test_a_bad_upload_is_refused_at_once_and_nothing_is_kept(
    api: Api, name: str, status: int, code: str
) -> None:
    reply = upload(api, AUDIO / name)
    assert reply.status_code == status, reply.text
    media = api.runtime.settings.resolved_media_dir()
    assert reply.json()["error"]["code"] == code
    assert str(media) not in reply.text  # the server's folders are nobody's business
    assert not media.exists() or list(media.iterdir()) == []


def test_a_recording_goes_through_every_stage_and_its_audio_plays_from_any_byte(
    api: Api,
) -> None:
    watch_stages(api)
    accepted = upload(api, AUDIO / "one_speaker.ogg").json()
    job = finished(api, accepted["job"]["id"], timeout=110)
    assert job["status"] == "succeeded", job
    assert job["stage"] == "done" and job["stage_progress"] is None and job["progress"] == 1.0
    stages = ["starting", "preparing_models", "transcribing", "diarizing", "summarizing"]
    assert stages_seen(api, job["id"]) == [*stages, "offering", "done"]
    meeting = api.client.get(f"/v1/meetings/{accepted['meeting_id']}", headers=api.auth()).json()
    assert meeting["meeting"]["has_audio"] and meeting["transcript"]["segments"]
    part = api.client.get(f"/v1/meetings/{accepted['meeting_id']}/audio",
                          headers={**api.auth(), "Range": "bytes=10-19"})  # fmt: skip
    assert part.status_code == 206 and len(part.content) == 10


def test_an_upload_over_the_limit_gets_413_and_leaves_nothing_on_disk(
    settings: Settings,
) -> None:
    small = settings.model_copy(update={"upload_max_bytes": 64 * 1024})
    with running_api(small) as api:
        big = b"\0" * (1 << 20)
        declared = api.client.post("/v1/meetings", headers=api.auth(),
                                   files={"recording": ("big.wav", big, "audio/wav")})  # fmt: skip
        assert declared.status_code == 413, declared.text
        assert declared.json()["error"]["code"] == "payload_too_large"

        def chunks() -> Any:  # no Content-Length: cut off while streaming
            yield b"--b\r\nContent-Disposition: form-data; "
            yield b'name="recording"; filename="x.wav"\r\n\r\n'
            for _ in range(64):
                yield b"\0" * (1 << 16)

        streamed = api.client.post("/v1/meetings", content=chunks(), headers={
            **api.auth(), "Content-Type": "multipart/form-data; boundary=b"})  # fmt: skip
        assert streamed.status_code == 413, streamed.text
        media = small.resolved_media_dir()
        assert not media.exists() or list(media.iterdir()) == []
        with api.runtime.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0


def test_a_job_running_when_the_server_stopped_runs_again_on_the_next_start(
    settings: Settings,
) -> None:
    with running_api(settings) as api:
        member = api.people["acme", "member"]
    runtime = Runtime.build(settings)  # a server that dies mid-job: never started
    job_id = "9d5e1c1e-0000-4000-8000-000000000001"
    folder = media_folder(settings.resolved_media_dir(), job_id)
    folder.mkdir(parents=True)
    (folder / "transcript.vtt").write_bytes((EXAMPLES / "meeting.vtt").read_bytes())
    params = {"title": "interrupted", "recording": "transcript.vtt", "engine": "extractive"}
    owner = {"tenant_id": member.tenant_id, "owner_id": member.subject_id, "kind": "meeting"}
    store.create_job(runtime.engine, params=params, job_id=job_id, **owner)
    assert store.start(runtime.engine, job_id) is not None
    worn_out = store.create_job(runtime.engine, params=params, **owner)
    jobs = table_of(store.JobRecord)
    with runtime.engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == worn_out.id).values(
            status="running", attempts=store.MAX_ATTEMPTS))  # fmt: skip
    runtime.engine.dispose()
    with running_api(settings) as api:
        job = finished(api, job_id)
        assert job["status"] == "succeeded" and job["result"]["meeting_id"] == job_id
        assert job["stage"] == "done"
        failed = api.client.get(f"/v1/jobs/{worn_out.id}", headers=api.auth()).json()
        assert failed["status"] == "failed" and failed["error"]["code"] == "interrupted"
        assert "stopped while this job ran" in failed["error"]["message"]


def test_a_job_that_fails_says_why_and_keeps_nothing_of_the_upload(
    api: Api, tmp_path: Path
) -> None:
    german = json.loads(
        api.client.get(f"/v1/meetings/{_meeting(api)}/transcript", headers=api.auth()).text
    )
    german["language"] = "de"
    (tmp_path / "sitzung.json").write_text(json.dumps(german))
    accepted = upload(api, tmp_path / "sitzung.json").json()
    job = finished(api, accepted["job"]["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "unsupported_language"
    assert "English only" in job["error"]["message"]
    folder = media_folder(api.runtime.settings.resolved_media_dir(), accepted["meeting_id"])
    assert not folder.exists()
    missing = api.client.get(f"/v1/meetings/{accepted['meeting_id']}", headers=api.auth())
    assert missing.status_code == 404


def _meeting(api: Api) -> str:
    accepted = upload(api, EXAMPLES / "meeting.vtt").json()
    assert finished(api, accepted["job"]["id"])["status"] == "succeeded"
    meeting_id: str = accepted["meeting_id"]
    return meeting_id


def test_an_upload_names_each_speaker_label_once_and_takes_the_cli_options(api: Api) -> None:
    twice = upload(api, EXAMPLES / "meeting.vtt", speaker=["Alice=Ann", "Alice=Bea"])
    assert twice.status_code == 422, twice.text
    assert "'Alice' is given twice" in twice.json()["error"]["message"]
    # diarize and hotwords, which the CLI has always taken, reach the job: two voices stay
    # one speaker without diarization and become two with it
    speakers = []
    for form in ({"diarize": "false", "hotwords": "Maria, Martin"}, {}):
        accepted = upload(api, AUDIO / "two_speakers.wav", **form)
        assert accepted.status_code == 202, accepted.text
        job = finished(api, accepted.json()["job"]["id"], timeout=110)
        assert job["status"] == "succeeded", job
        meeting = api.client.get(f"/v1/meetings/{accepted.json()['meeting_id']}",
                                 headers=api.auth()).json()  # fmt: skip
        speakers.append({s["speaker"] for s in meeting["transcript"]["segments"]})
    assert speakers[0] == {"S1"} and len(speakers[1]) == 2, speakers


def test_two_tracks_of_one_person_are_refused_like_on_the_command_line(api: Api) -> None:
    wav = (AUDIO / "two_speakers.wav").read_bytes()
    files = [("track", ("a.wav", wav, "audio/wav")), ("track", ("b.wav", wav, "audio/wav"))]
    reply = api.client.post("/v1/meetings", files=files, data={"track_name": ["Ann", "Ann"]},
                            headers=api.auth())  # fmt: skip
    assert reply.status_code == 422, reply.text
    assert "same person's name" in reply.json()["error"]["message"]
    both = api.client.post(
        "/v1/meetings",
        files=[("recording", ("m.vtt", (EXAMPLES / "meeting.vtt").read_bytes(), "text/vtt")),
               *files[:1]],
        headers=api.auth(),
    )  # fmt: skip
    assert both.status_code == 422 and "one recording" in both.json()["error"]["message"]
    media = api.runtime.settings.resolved_media_dir()
    assert not media.exists() or list(media.iterdir()) == []


def test_a_question_takes_the_engine_as_the_command_line_does(api: Api) -> None:
    meeting_id = _meeting(api)
    asked = api.client.post(f"/v1/meetings/{meeting_id}/ask", headers=api.auth(),
                            json={"question": "When does calendar sync ship?",
                                  "engine": "extractive"})  # fmt: skip
    assert asked.status_code == 200, asked.text
    assert asked.json()["engine"] == "extractive" and "January" in asked.json()["answer"]
    unknown = api.client.post(f"/v1/meetings/{meeting_id}/ask", headers=api.auth(),
                              json={"question": "When?", "engine": "magic"})  # fmt: skip
    assert unknown.status_code == 422


def dated_flac(path: Path, day: str) -> Path:
    """two_speakers.wav as a FLAC whose DATE tag says it was recorded on `day`."""
    with av.open(str(AUDIO / "two_speakers.wav")) as source, av.open(str(path), "w") as out:
        out.metadata["DATE"] = day
        stream = out.add_stream("flac", rate=source.streams.audio[0].rate)
        for frame in source.decode(audio=0):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def saved(api: Api, accepted: Any, timeout: float = 60) -> dict[str, Any]:
    assert accepted.status_code == 202, accepted.text
    job = finished(api, accepted.json()["job"]["id"], timeout=timeout)
    assert job["status"] == "succeeded", job
    meeting: dict[str, Any] = api.client.get(
        f"/v1/meetings/{accepted.json()['meeting_id']}", headers=api.auth()
    ).json()
    return meeting


def test_the_upload_s_date_speakers_names_and_language_reach_the_saved_meeting(api: Api) -> None:
    form = {"meeting_date": "2026-11-23", "num_speakers": "2", "language": "en",
            "speaker": ["S1=Maria Lopez", "S2=Martin"], "hotwords": "Maria, Martin"}  # fmt: skip
    meeting = saved(api, upload(api, AUDIO / "two_speakers.wav", **form), timeout=110)
    assert meeting["meeting"]["meeting_date"] == "2026-11-23"
    assert meeting["summary"]["meeting_date_from"] == "given"
    named = {s["id"]: s["name"] for s in meeting["transcript"]["speakers"]}
    assert named == {"S1": "Maria Lopez", "S2": "Martin"}
    # a language given is used as given, not detected (Whisper is then sure of it)
    assert meeting["transcript"]["language"] == "en"
    assert meeting["transcript"]["language_probability"] == 1.0
    # the names are claims: guests of the tenant, no member, nobody's consent
    people = api.runtime.service.subjects(api.people["acme", "member"].tenant_id)
    kinds = {p.display_name: p.kind.value for p in people if p.display_name in named.values()}
    assert kinds == {"Maria Lopez": "guest", "Martin": "guest"}


def test_without_a_date_the_recording_s_own_day_is_used_else_the_upload_day(
    api: Api, tmp_path: Path
) -> None:
    recorded = saved(api, upload(api, dated_flac(tmp_path / "standup.flac", "2026-11-20")),
                     timeout=110)  # fmt: skip
    assert recorded["meeting"]["meeting_date"] == "2026-11-20"
    assert recorded["summary"]["meeting_date_from"] == "recording"
    subtitles = saved(api, upload(api, EXAMPLES / "meeting.vtt"))
    today = utcnow().date()
    assert subtitles["summary"]["meeting_date"] == today.isoformat()
    assert subtitles["summary"]["meeting_date_from"] == "upload"
    assert subtitles["meeting"]["meeting_date"] is None  # no day anybody stated
    # every due phrase is resolved against the upload day, none left without its day
    actions = subtitles["summary"]["action_items"]
    assert actions and all(a["due"] for a in actions if a["due_phrase"])
    md = api.client.get(f"/v1/meetings/{subtitles['meeting']['id']}/summary?format=md",
                        headers=api.auth()).text  # fmt: skip
    assert f"meeting date: {today.isoformat()} (the upload day)" in md


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"meeting_date": "2026-13-01"}, "meeting_date takes YYYY-MM-DD, not '2026-13-01'"),
        ({"meeting_date": "next Tuesday"}, "meeting_date takes YYYY-MM-DD"),
        ({"num_speakers": "0"}, "num_speakers: Input should be greater than or equal to 1"),
        ({"num_speakers": "21"}, "num_speakers: Input should be less than or equal to 20"),
        ({"speaker": ["Alice"]}, "speaker takes NAME=VALUE, not 'Alice'"),
        ({"speaker": ["S1=" + "A" * 101]}, "1 to 100 printable characters"),
        ({"speaker": ["S1=Ann\u0000"]}, "1 to 100 printable characters"),
        ({"language": "klingon"}, "unknown language 'klingon'"),
    ],
)
def test_a_bad_upload_option_is_refused_with_what_is_wrong_and_nothing_is_kept(
    api: Api, form: dict[str, Any], message: str
) -> None:
    reply = upload(api, EXAMPLES / "meeting.vtt", **form)
    assert reply.status_code == 422, reply.text
    assert message in reply.json()["error"]["message"]
    media = api.runtime.settings.resolved_media_dir()
    assert not media.exists() or list(media.iterdir()) == []
    with api.runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0


def test_an_empty_file_is_called_empty(api: Api, tmp_path: Path) -> None:
    (tmp_path / "standup.wav").touch()
    reply = upload(api, tmp_path / "standup.wav")
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error == {"code": "empty_file", "message": "standup.wav: the file is empty (0 bytes)"}


def test_a_recording_without_speech_fails_its_job_saying_so_and_leaves_no_meeting(
    api: Api, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.wav"
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 16000 * 5)
    accepted = upload(api, silent)
    assert accepted.status_code == 202, accepted.text
    job = finished(api, accepted.json()["job"]["id"], timeout=110)
    assert job["status"] == "failed" and job["error"]["code"] == "no_speech", job
    assert job["error"]["message"].startswith("no speech found in recording.wav (5.0 s")
    with api.runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM meetings").scalar_one() == 0
    folder = media_folder(api.runtime.settings.resolved_media_dir(), accepted.json()["meeting_id"])
    assert not folder.exists()
