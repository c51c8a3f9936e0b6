"""What an upload may cost the server: media jobs decode in a child process with bounded
memory and a cap on the audio decoded (summed over tracks and channels), a meeting has at
most so many speakers, and no job error or API error names the server's folders."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from minutekeeper.core.settings import Settings
from minutekeeper.features.meetings.media import media_folder
from minutekeeper.jobs import store
from minutekeeper.runtime import Runtime
from tests.integration.api_support import Api, finished_job, running_api

AUDIO = Path(__file__).parents[1] / "fixtures" / "audio"
EXAMPLES = Path(__file__).parents[2] / "examples"
RATE = 16_000


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """SQLite: these tests touch media and jobs; the speaker cap runs on both databases."""
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'db'}")


def silence_flac(path: Path, seconds: int, *, channels: int = 1, declares: float | None = None
                 ) -> Path:  # fmt: skip
    """A FLAC of digital silence; `declares` writes another duration into its header (the
    STREAMINFO sample count), as a crafted file would."""
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=RATE, layout=layout)
        second = np.zeros((1, RATE * channels), dtype=np.int16)
        for _ in range(seconds):
            frame = av.AudioFrame.from_ndarray(second, format="s16", layout=layout)
            frame.sample_rate = RATE
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    if declares is not None:  # the low 36 bits of the 8 bytes at 18: the total samples
        data = bytearray(path.read_bytes())
        field = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1) | int(declares * RATE)
        data[18:26] = field.to_bytes(8, "big")
        path.write_bytes(bytes(data))
    return path


def post(api: Api, files: list[tuple[str, Path]], **form: Any) -> Any:
    handles = [(field, (p.name, p.read_bytes(), "application/octet-stream")) for field, p in files]
    return api.client.post("/v1/meetings", files=handles, data=form, headers=api.auth())


def peak_rss_kb() -> int:
    found = re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())
    assert found is not None
    return int(found.group(1))


def media_children() -> int:
    """How many processes this process's fork server has running: media jobs' children
    (read from /proc, so that the jobs' own waiting is not disturbed)."""
    for task in Path("/proc/self/task").iterdir():
        for pid in _read(task / "children").split():
            if "multiprocessing.forkserver" in _read(Path(f"/proc/{pid}/cmdline")):
                return len(_read(Path(f"/proc/{pid}/task/{pid}/children")).split())
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:  # the process or thread has just ended
        return ""


def nothing_kept(api: Api) -> None:
    media = api.runtime.settings.resolved_media_dir()
    assert not media.exists() or list(media.iterdir()) == []


def test_an_upload_whose_decoded_audio_passes_the_cap_is_refused_and_the_server_stays_small(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    # 20 minutes (77 MB decoded) whose header says 1 s: the header check lets it through,
    # the count of decoded samples does not.
    crafted = silence_flac(tmp_path / "long.flac", 20 * 60, declares=1.0)
    with running_api(sqlite_settings.model_copy(update={"max_audio_s": 5.0})) as api:
        Path("/proc/self/clear_refs").write_text("5")  # the peak RSS starts again from now
        before = peak_rss_kb()
        accepted = post(api, [("recording", crafted)])
        assert accepted.status_code == 202, accepted.text
        job = finished_job(api.client, accepted.json()["job"]["id"], api.auth(), timeout=60)
        grown_mb = (peak_rss_kb() - before) / 1024
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "audio_too_long"
        message = job["error"]["message"]
        assert "longer than the 5 s this server accepts" in message
        assert re.search(r"decoding passed 5\.\d s", message), message
        # This process (the API server) decoded none of it: it would have grown by 77 MB.
        assert grown_mb < 30, f"the API process grew by {grown_mb:.0f} MB"
        nothing_kept(api)


@pytest.mark.parametrize(
    ("files", "declared"),
    [
        ([("recording", 10, 1)], "10.0"),
        ([("track", 3, 1), ("track", 3, 1)], "6.0"),  # summed over tracks
        ([("recording", 3, 2)], "6.0"),  # and over channels
    ],
)
def test_an_upload_whose_files_declare_more_than_the_cap_is_refused_at_once(
    sqlite_settings: Settings, tmp_path: Path, files: list[tuple[str, int, int]], declared: str
) -> None:
    made = [
        (field, silence_flac(tmp_path / f"{n}.flac", seconds, channels=channels))
        for n, (field, seconds, channels) in enumerate(files)
    ]
    with running_api(sqlite_settings.model_copy(update={"max_audio_s": 5.0})) as api:
        reply = post(api, made)
        assert reply.status_code == 413, reply.text
        assert reply.json()["error"] == {
            "code": "audio_too_long",
            "message": "the recording is longer than the 5 s this server accepts (summed over "
            f"tracks and channels): its files declare {declared} s",
        }
        nothing_kept(api)
        with api.runtime.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0


def test_a_job_over_its_memory_limit_fails_cleanly_and_the_server_goes_on(
    sqlite_settings: Settings,
) -> None:
    with running_api(sqlite_settings.model_copy(update={"job_memory_mb": 16})) as api:
        accepted = post(api, [("recording", AUDIO / "one_speaker.ogg")]).json()
        job = finished_job(api.client, accepted["job"]["id"], api.auth(), timeout=60)
        assert job["status"] == "failed", job
        assert job["error"] == {
            "code": "out_of_memory",
            "message": "the job ran out of its 16 MB of memory",
            "problems": None,
        }
        nothing_kept(api)
        gone = api.client.get(f"/v1/meetings/{accepted['meeting_id']}", headers=api.auth())
        assert gone.status_code == 404
        # The server and its job runner are unharmed: they answer, and run the next job.
        assert api.client.get("/health").status_code == 200
        after = post(api, [("recording", AUDIO / "one_speaker.flac")]).json()
        again = finished_job(api.client, after["job"]["id"], api.auth(), timeout=60)
        assert again["error"]["code"] == "out_of_memory", again


def test_media_jobs_run_one_child_at_a_time_whatever_the_job_threads(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    crafted = silence_flac(tmp_path / "long.flac", 4, declares=0.5)  # refused as it decodes
    limits = {"job_workers": 2, "max_audio_s": 1.0}
    with running_api(sqlite_settings.model_copy(update=limits)) as api:
        jobs = [post(api, [("recording", crafted)]).json()["job"]["id"] for _ in range(2)]
        children, both_running, finished = 0, False, []
        deadline = time.monotonic() + 60
        while len(finished) < 2 and time.monotonic() < deadline:
            children = max(children, media_children())
            seen = [api.client.get(f"/v1/jobs/{j}", headers=api.auth()).json() for j in jobs]
            both_running |= all(job["status"] == "running" for job in seen)
            finished = [job for job in seen if job["status"] in ("succeeded", "failed")]
            time.sleep(0.05)
        assert [job["error"]["code"] for job in finished] == ["audio_too_long"] * 2, finished
        assert both_running  # two job threads at once ...
        assert children == 1  # ... and one media child at a time


def test_a_job_error_never_names_the_server_folders(sqlite_settings: Settings) -> None:
    with running_api(sqlite_settings) as api:
        accepted = post(api, [("recording", AUDIO / "truncated.flac")]).json()
        job_id = accepted["job"]["id"]
        job = finished_job(api.client, job_id, api.auth(), timeout=60)
        assert job["status"] == "failed" and job["error"]["code"] == "unreadable_audio", job
        assert job["error"]["message"].startswith("recording.flac: "), job  # its name alone
        events = api.client.get(f"/v1/jobs/{job_id}/events", headers=api.auth()).text
        for seen in (str(job), events):
            assert str(sqlite_settings.data_dir) not in seen
            assert str(api.runtime.settings.resolved_media_dir()) not in seen


def vtt(path: Path, speakers: int) -> Path:
    cues = [
        f"{n // 60:02d}:{n % 60:02d}.000 --> {n // 60:02d}:{n % 60:02d}.900\n"
        f"<v Person {n}>Hello from number {n}."
        for n in range(speakers)
    ]
    path.write_text("WEBVTT\n\n" + "\n\n".join(cues) + "\n")
    return path


def people(api: Api) -> int:
    listed = api.client.get("/v1/admin/subjects?limit=500", headers=api.auth("acme", "admin"))
    assert listed.status_code == 200, listed.text
    return len(listed.json()["items"])


def test_an_upload_with_more_speakers_than_a_meeting_may_have_is_refused_whole(
    api: Api, tmp_path: Path
) -> None:
    assert api.runtime.settings.max_speakers == 50
    before = people(api)
    reply = post(api, [("recording", vtt(tmp_path / "crowd.vtt", 51))])
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == "too_many_speakers"
    message = reply.json()["error"]["message"]
    assert "51 speakers" in message and "at most 50 per meeting" in message
    assert people(api) == before  # no guest made
    nothing_kept(api)
    with api.runtime.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0


def test_a_job_checks_the_speaker_cap_before_it_saves_anything(settings: Settings) -> None:
    # A job accepted before the cap was lowered (here: written by hand, as a server that
    # stopped would leave it) is refused by the job, before it saves a meeting or a guest.
    with running_api(settings) as api:
        member = api.people["acme", "member"]
        before = people(api)
    runtime = Runtime.build(settings)  # never started: its job waits for the next server
    job_id = "9d5e1c1e-0000-4000-8000-000000000002"
    folder = media_folder(settings.resolved_media_dir(), job_id)
    folder.mkdir(parents=True)
    vtt(folder / "transcript.vtt", 4)
    params = {"title": "crowd", "recording": "transcript.vtt", "engine": "extractive"}
    owner = {"tenant_id": member.tenant_id, "owner_id": member.subject_id, "kind": "meeting"}
    store.create_job(runtime.engine, params=params, job_id=job_id, **owner)
    runtime.engine.dispose()
    with running_api(settings.model_copy(update={"max_speakers": 3})) as api:
        job = finished_job(api.client, job_id, api.auth(), timeout=60)
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "too_many_speakers"
        assert "4 speakers" in job["error"]["message"]
        assert "at most 3 per meeting" in job["error"]["message"]
        assert api.client.get(f"/v1/meetings/{job_id}", headers=api.auth()).status_code == 404
        assert people(api) == before
        nothing_kept(api)
