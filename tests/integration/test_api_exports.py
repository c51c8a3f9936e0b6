"""Training exports over HTTP, for the ML exporter role: build, download as tar or zip,
and a revoked export answers 410 while its tombstones stay readable."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from minutekeeper.consent.domain import Role
from tests.integration.api_support import Api, finished_job

EXAMPLES = Path(__file__).parents[2] / "examples"
SPEAKERS = ("Alice", "Bob", "Carol")


def wait(api: Api, job_id: str, who: str) -> dict[str, Any]:
    return finished_job(api.client, job_id, api.auth("acme", who))


def members_consent(api: Api, names: tuple[str, ...]) -> None:
    """Each of `names` becomes a member of acme and gives consent to the current notice."""
    for name in names:
        api.add_person("acme", name, Role.MEMBER)
        headers = api.auth("acme", name)
        notice = api.client.get("/v1/consent/notice", headers=headers).json()["notice"]["id"]
        body = {"decision": "given", "notice_version_id": notice}
        given = api.client.post("/v1/consent", headers=headers, json=body)
        assert given.status_code == 201, given.text


def confirm_attributions(api: Api, names: tuple[str, ...]) -> None:
    """Each of `names` confirms the words the uploader attributed to them."""
    for name in names:
        headers = api.auth("acme", name)
        (request,) = api.client.get("/v1/attributions", headers=headers).json()["items"]
        answers = {item["id"]: "me" for item in request["items"]}
        confirmed = api.client.post(f"/v1/attributions/{request['id']}/answer", headers=headers,
                                    json={"answers": answers})  # fmt: skip
        assert confirmed.status_code == 200, confirmed.text


def consenting_meeting(api: Api, *, title: str | None = None) -> str:
    """Alice, Bob and Carol consent; Alice uploads the meeting they spoke in, naming them
    (with `title`, else the file's name); Bob and Carol confirm the words she attributed to
    them, so all of it is kept. Returns the meeting's id."""
    members_consent(api, SPEAKERS)
    with (EXAMPLES / "meeting.vtt").open("rb") as handle:
        accepted = api.client.post("/v1/meetings", headers=api.auth("acme", "Alice"),
                                   files={"recording": ("meeting.vtt", handle)},
                                   data={"title": title} if title else {}).json()  # fmt: skip
    job = wait(api, accepted["job"]["id"], "Alice")
    assert job["status"] == "succeeded", job
    reasons = {t["kind"]: t["reasons"] for t in job["result"]["training"]}
    assert reasons == {"meeting_summary": ["NON_CONSENTING_CONTRIBUTOR", "UNVERIFIED"],
                       "transcript": []}  # fmt: skip
    confirm_attributions(api, ("Bob", "Carol"))
    return str(accepted["meeting_id"])


def build_export(api: Api) -> dict[str, Any]:
    ml = api.auth("acme", "ml_exporter")
    started = api.client.post("/v1/exports", json={}, headers=ml)
    assert started.status_code == 202, started.text
    job = wait(api, started.json()["id"], "ml_exporter")
    assert job["status"] == "succeeded", job
    export: dict[str, Any] = api.client.get(f"/v1/exports/{job['result']['export_id']}",
                                            headers=ml).json()  # fmt: skip
    return export


def test_an_export_downloads_as_tar_and_zip_with_the_manifest_it_was_published_with(
    api: Api,
) -> None:
    consenting_meeting(api)
    export = build_export(api)
    assert export["status"] == "active" and export["counts"]["included"] == 2
    ml = api.auth("acme", "ml_exporter")
    url = f"/v1/exports/{export['id']}/download"
    tar = api.client.get(url, headers=ml)
    assert tar.status_code == 200 and tar.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(tar.content)) as archive:
        names = archive.getnames()
        manifest_bytes = archive.extractfile("minutekeeper-export-v1/manifest.json").read()  # type: ignore[union-attr]
    assert "minutekeeper-export-v1/openai.jsonl" in names
    zipped = api.client.get(f"{url}?format=zip", headers=ml)
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert archive.read("minutekeeper-export-v1/manifest.json") == manifest_bytes
        assert archive.testzip() is None
    assert hashlib.sha256(manifest_bytes).hexdigest() == export["manifest_sha256"]
    assert json.loads(manifest_bytes)["counts"]["included"] == 2


def test_a_withdrawal_revokes_the_export_which_then_answers_410_but_keeps_its_tombstones(
    api: Api,
) -> None:
    consenting_meeting(api)
    export = build_export(api)
    withdrawn = api.client.post("/v1/consent", json={"decision": "withdrawn"},
                                headers=api.auth("acme", "Bob"))  # fmt: skip
    assert withdrawn.status_code == 201
    ml = api.auth("acme", "ml_exporter")
    for path in (f"/v1/exports/{export['id']}", f"/v1/exports/{export['id']}/download"):
        gone = api.client.get(path, headers=ml)
        assert gone.status_code == 410, (path, gone.text)
        assert gone.json()["error"]["code"] == "export_revoked"
    stones = api.client.get(f"/v1/exports/{export['id']}/tombstones", headers=ml)
    assert stones.status_code == 200 and len(stones.json()["items"]) == 2
    listed = api.client.get("/v1/exports", headers=ml).json()["items"]
    assert [(e["id"], e["status"]) for e in listed] == [(export["id"], "revoked")]
    again = api.client.post("/v1/exports", json={"supersedes": export["id"]}, headers=ml)
    job = wait(api, again.json()["id"], "ml_exporter")
    replacement = api.client.get(f"/v1/exports/{job['result']['export_id']}", headers=ml).json()
    assert replacement["supersedes_id"] == export["id"]
    assert replacement["counts"]["included"] == 0  # Bob's words are in both records
