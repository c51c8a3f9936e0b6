"""The API against its own OpenAPI document (schemathesis): every operation, called with
generated requests (valid and invalid ones) and a token of a role that may call it, never
answers 5xx, answers only statuses and content types the document lists, answers bodies
that match it, and refuses what the document does not allow.

Requests go through the fixture's app (its lifespan, so its job runner, running) with a
TestClient, not through schemathesis's own ASGI client, which would start the lifespan a
second time. Operations with an id in their path are also called with the caller's own
real ones (a meeting, a draft, an export, a job), and a few with a body that succeeds, so
every operation's 2xx body gets checked too. Drafts come from a scripted language model
registered as its own backend (`scripted`), so compose answers without a real model.
Bounded: `MAX_EXAMPLES` per operation, derandomized, no shrinking, no example database.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from minutekeeper.core.settings import Settings
from minutekeeper.features.meetings.media import media_folder
from tests.integration.api_support import Api, finished_job, scripted_settings

EXAMPLES = Path(__file__).parents[2] / "examples"
RECORDING = Path(__file__).parents[1] / "fixtures" / "audio" / "silence.wav"
TINY_VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Ann>Hello, we ship on Friday.\n"
THREAD = [{"id": "m1", "author": "Alice", "text": "Are the laptops ready?"}]
NAMING_VTT = b"WEBVTT\n\n00:00:00.500 --> 00:00:02.000\n<v acme-member>Are the users ready?\n"
MAX_EXAMPLES = 20


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The shared settings, with the scripted language model as the LLM backend."""
    return scripted_settings(tmp_path, database_url, monkeypatch)


def caller_of(path: str) -> tuple[str, str]:
    """The (tenant, role) that may call `path`: the admin for /v1/admin and /v1/audit, the
    ML exporter for /v1/exports, a member for the rest."""
    if path.startswith(("/v1/admin", "/v1/audit")):
        return "acme", "admin"
    if path.startswith("/v1/exports"):
        return "acme", "ml_exporter"
    return "acme", "member"


def finished(api: Api, job_id: str, role: str) -> dict[str, Any]:
    return finished_job(api.client, job_id, api.auth("acme", role))


@dataclass(frozen=True)
class Ids:
    """Real things to name in requests: the acme member's meeting (summarized, with a
    recording kept), a speaker in it and a draft; the acme ML exporter's export and job."""

    meeting: str
    speaker: str
    draft: str
    export: str
    export_job: str
    attribution: str = ""  # a request to the member (member2 named them in a meeting)
    attribution_item: str = ""
    notice: str = ""  # acme's current notice version
    doomed: str = ""  # another meeting of the member's, for DELETE to take

    def path_parameters(self, role: str, method: str = "GET") -> dict[str, str]:
        """Path parameters that name the caller's own things (a meeting to delete is not
        the one the other operations read)."""
        if role == "ml_exporter":
            return {"export_id": self.export, "job_id": self.export_job}
        meeting = self.doomed if method == "DELETE" else self.meeting
        return {"meeting_id": meeting, "job_id": self.meeting, "draft_id": self.draft,
                "request_id": self.attribution, "item_id": self.attribution_item,
                "version_id": self.notice}  # fmt: skip


def real_ids(api: Api) -> Ids:
    member, exporter = api.auth("acme", "member"), api.auth("acme", "ml_exporter")
    with (EXAMPLES / "meeting.vtt").open("rb") as handle:
        accepted = api.client.post(
            "/v1/meetings", headers=member, files={"recording": ("meeting.vtt", handle)}
        )
    meeting = accepted.json()["meeting_id"]
    started = api.client.post("/v1/exports", headers=exporter, json={}).json()["id"]
    draft = api.client.post("/v1/compose", headers=member, json={"thread": THREAD}).json()["id"]
    export = finished(api, started, "ml_exporter")["result"]["export_id"]
    assert finished(api, meeting, "member")["status"] == "succeeded"
    # A subtitle upload keeps no recording; put one beside the meeting for /audio.
    folder = media_folder(api.runtime.settings.resolved_media_dir(), meeting)
    shutil.copy(RECORDING, folder / "recording.wav")
    got = api.client.get(f"/v1/meetings/{meeting}", headers=member).json()
    speaker = got["transcript"]["speakers"][0]["id"]
    # member2 uploads a meeting naming the member as a speaker (its recording kept beside
    # it): the member is asked about those words and can hear them.
    named = api.client.post("/v1/meetings", headers=api.auth("acme", "member2"),
                            files={"recording": ("named.vtt", NAMING_VTT, "text/vtt")})  # fmt: skip
    assert finished(api, named.json()["meeting_id"], "member2")["status"] == "succeeded"
    folder = media_folder(api.runtime.settings.resolved_media_dir(), named.json()["meeting_id"])
    shutil.copy(RECORDING, folder / "recording.wav")
    (request,) = api.client.get("/v1/attributions", headers=member).json()["items"]
    notice = api.runtime.service.current_notice(api.people["acme", "admin"].tenant_id).id
    doomed = api.client.post("/v1/meetings", headers=member,
                             files={"recording": ("doomed.vtt", TINY_VTT, "text/vtt")})  # fmt: skip
    assert finished(api, doomed.json()["meeting_id"], "member")["status"] == "succeeded"
    return Ids(meeting, speaker, draft, export, started, request["id"], request["items"][0]["id"],
               notice, doomed.json()["meeting_id"])  # fmt: skip


# Bodies that a generator would hardly find but that reach the 2xx answer, so its body is
# checked too: (method, path) -> the body, from the real ids.
GOOD_BODIES: dict[tuple[str, str], Callable[[Ids], Any]] = {
    ("POST", "/v1/compose"): lambda ids: {"thread": THREAD},
    ("PATCH", "/v1/meetings/{meeting_id}/speakers"): lambda ids: {"names": {ids.speaker: "Al"}},
    ("POST", "/v1/admin/notices/{version_id}/translations"): lambda ids: {
        "language": "de",
        "title": "Titel",
        "body": "Text.",
    },
    ("POST", "/v1/attributions/{request_id}/answer"): lambda ids: {
        "answers": {ids.attribution_item: "me"}
    },
}


def answering(api: Api) -> TestClient:
    """A client of the fixture's app (its lifespan already running) that hands back a 500
    as the server answers it, rather than raising the server's exception."""
    return TestClient(api.client.app, raise_server_exceptions=False)


def send(client: TestClient, case: schemathesis.Case[Any], headers: dict[str, str]) -> Any:
    """Send `case` through the app's TestClient, byte for byte as schemathesis's own
    transport would (it prepares the request with `requests`)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    prepared = requests.Request(**kwargs).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    assert body is None or isinstance(body, bytes), type(body)
    return client.request(
        prepared.method or "GET",
        prepared.url or "",
        headers={name: str(value) for name, value in prepared.headers.items()},
        content=body,
    )


def label(operation: Any) -> tuple[str, str]:
    return operation.method.upper(), operation.path


def strategy_for(operation: Any, ids: Ids | None, role: str) -> Any:
    """Generated requests; for an operation with ids in its path, also ones that name the
    caller's own things (and carry a good body, where `GOOD_BODIES` has one)."""
    strategies = [
        operation.as_strategy(),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    ]
    mine = ids.path_parameters(role, operation.method.upper()) if ids is not None else {}
    own = {k: v for k, v in mine.items() if "{" + k + "}" in operation.path}
    if own:
        strategies.append(operation.as_strategy(path_parameters=own))
    if ids is not None and label(operation) in GOOD_BODIES:
        body = GOOD_BODIES[label(operation)](ids)
        strategies.append(operation.as_strategy(path_parameters=own, body=body))
    return st.one_of(strategies)


def run_operation(
    api: Api, operation: Any, ids: Ids | None, checks: list[Callable[..., Any]]
) -> tuple[str | None, set[int]]:
    """Generate and send requests for one operation: the first failure's report (None if
    none) and the statuses seen."""
    tenant, role = caller_of(operation.path)
    headers, client = api.auth(tenant, role), answering(api)
    seen: set[int] = set()

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),  # no shrinking: keep the run bounded
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=strategy_for(operation, ids, role))
    def check(case: schemathesis.Case[Any]) -> None:
        response = send(client, case, headers)
        seen.add(response.status_code)
        case.validate_response(response, checks=checks, headers=headers)

    try:
        check()
    except (Exception, FailureGroup) as error:
        method, path = label(operation)
        return f"{method} {path} as {tenant}/{role}:\n{error}", seen
    return None, seen


def operations(api: Api) -> dict[tuple[str, str], Any]:
    """The document's operations by (method, path). The configuration is explicit (no
    schemathesis.toml is looked for) and generates no NUL characters: those are
    `test_a_nul_byte_in_any_string_is_refused_not_a_500`'s, on every route at once."""
    config = schemathesis.Config.from_dict({"generation": {"allow-x00": False}})
    document = api.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document, config=config)
    found = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation the document cannot describe
        found[label(result.ok())] = result.ok()
    assert len(found) > 20, sorted(found)
    return found


def validate_an_upload(api: Api, operation: Any, checks: list[Callable[..., Any]]) -> str | None:
    """A real subtitle upload (generated multipart parts carry no file name, so they are
    all refused before a job starts): its 202 against the document."""
    headers = api.auth("acme", "member")
    files = {"recording": ("tiny.vtt", TINY_VTT, "text/vtt")}
    response = api.client.post("/v1/meetings", headers=headers, files=files)
    case = operation.Case(media_type="multipart/form-data", body={"recording": TINY_VTT})
    try:
        case.validate_response(response, checks=checks, headers=headers)
    except (Exception, FailureGroup) as error:
        return f"POST /v1/meetings with a subtitle file:\n{error}"
    finally:
        if response.status_code == 202:
            finished(api, response.json()["job"]["id"], "member")
    assert response.status_code == 202, response.text
    return None


def restored(api: Api, ids: Ids) -> Ids:
    """What the generated requests may have changed, put back: generated notices may have
    been published (translate the current version), and generated switch changes may have
    turned AI features or training sharing off, revoking the export (turn them on again,
    and name a new export)."""
    admin = api.people["acme", "admin"]
    service = api.runtime.service
    service.set_switches(admin, ai_features_enabled=True, training_sharing_enabled=True)
    ids = replace(ids, notice=service.current_notice(admin.tenant_id).id)
    exporter = api.auth("acme", "ml_exporter")
    if api.client.get(f"/v1/exports/{ids.export}", headers=exporter).status_code == 410:
        started = api.client.post("/v1/exports", headers=exporter, json={}).json()["id"]
        export = finished(api, started, "ml_exporter")["result"]["export_id"]
        ids = replace(ids, export=export, export_job=started)
    return ids


def test_every_operation_answers_as_its_schema_says(api: Api) -> None:
    ids = real_ids(api)
    failures, never_2xx = [], []
    for key, operation in operations(api).items():
        checks = CHECKS
        ids = restored(api, ids)
        failure, seen = run_operation(api, operation, ids, checks)
        if key == ("POST", "/v1/meetings"):
            upload_failure = validate_an_upload(api, operation, checks)
            failure = "\n\n".join(f for f in (failure, upload_failure) if f) or None
            seen.add(202)
        if failure:
            failures.append(failure)
        if not any(200 <= status < 300 for status in seen):
            never_2xx.append(f"{key}: {sorted(seen)}")
    assert not failures, "\n\n".join(failures)
    assert not never_2xx, f"operations whose success body went unchecked: {never_2xx}"


NUL = "abcd\x00ef"  # past the shortest id prefix (4 characters), so it reaches a query
NUL_IN_PATH = "abcd%00ef"
# (role, method, path, query, JSON body): one NUL character in one string each.
NUL_PROBES: list[tuple[str, str, str, dict[str, str] | None, Any]] = [
    ("member", "GET", f"/v1/meetings/{NUL_IN_PATH}", None, None),
    ("member", "DELETE", f"/v1/meetings/{NUL_IN_PATH}", None, None),
    ("member", "GET", f"/v1/meetings/{NUL_IN_PATH}/transcript", None, None),
    ("member", "POST", f"/v1/meetings/{NUL_IN_PATH}/ask", None, {"question": "Why?"}),
    ("member", "GET", f"/v1/jobs/{NUL_IN_PATH}", None, None),
    ("member", "GET", f"/v1/jobs/{NUL_IN_PATH}/events", None, None),
    ("member", "GET", f"/v1/compose/{NUL_IN_PATH}", None, None),
    ("member", "POST", f"/v1/compose/{NUL_IN_PATH}/feedback", None, {"sent_text": "Sent."}),
    ("member", "POST", "/v1/compose", None, {"mode": "followup", "meeting_id": NUL}),
    ("member", "GET", "/v1/consent/notice", {"key": NUL}, None),
    ("member", "POST", "/v1/consent", None, {"decision": "given", "notice_version_id": NUL}),
    ("member", "POST", "/v1/consent", None, {"decision": "refused", "purpose": NUL}),
    ("admin", "GET", "/v1/admin/consent-counts", {"purpose": NUL}, None),
    ("admin", "POST", "/v1/admin/notices", None, {"title": NUL, "body": "Body."}),
    ("admin", "POST", "/v1/admin/notices", None, {"title": "Title", "body": NUL}),
    ("ml_exporter", "POST", "/v1/exports", None, {"supersedes": NUL}),
    ("ml_exporter", "GET", f"/v1/exports/{NUL_IN_PATH}", None, None),
    ("ml_exporter", "GET", f"/v1/exports/{NUL_IN_PATH}/tombstones", None, None),
    ("ml_exporter", "GET", f"/v1/exports/{NUL_IN_PATH}/download", None, None),
    ("admin", "GET", "/v1/admin/subjects", {"cursor": NUL}, None),
    ("member", "GET", "/v1/meetings", {"cursor": NUL}, None),
    ("member", "GET", "/v1/search", {"q": NUL}, None),
    ("member", "GET", "/v1/search", {"q": "release", "cursor": NUL}, None),
    ("member", "GET", "/v1/attributions", {"cursor": NUL}, None),
    ("ml_exporter", "GET", "/v1/exports", {"cursor": NUL}, None),
]


def test_a_nul_byte_in_any_string_is_refused_not_a_500(api: Api) -> None:
    client, wrong = answering(api), []
    for role, method, path, query, body in NUL_PROBES:
        reply = client.request(
            method, path, params=query, json=body, headers=api.auth("acme", role)
        )
        if reply.status_code >= 500:
            wrong.append(
                f"{method} {path} {query or ''} {body or ''} as acme/{role}: {reply.status_code}"
            )
    assert not wrong, "\n".join(wrong)


def test_an_unparsable_body_gets_a_documented_status(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    json_body = {"Content-Type": "application/json"}
    probes = [
        ("/v1/consent", json_body, b'{"decision": "refused", "purpose": "\xff"}'),
        ("/v1/compose", json_body, b"\xff\xfe"),
        (
            "/v1/meetings",
            {"Content-Type": "multipart/form-data; boundary=b"},
            b"--b\r\n[]--b--\r\n",
        ),
        ("/v1/meetings", {"Content-Type": "multipart/form-data"}, b"recording"),
    ]
    wrong = []
    for path, headers, body in probes:
        reply = answering(api).post(path, content=body, headers={**headers, **api.auth()})
        if str(reply.status_code) not in paths[path]["post"]["responses"]:
            wrong.append(f"POST {path} {headers} {body!r}: {reply.status_code} {reply.text}")
    assert not wrong, "\n".join(wrong)


def test_a_jobs_stage_is_documented_as_one_of_its_values(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    job = document["components"]["schemas"]["JobPublic"]["properties"]
    assert job["stage"]["$ref"] == "#/components/schemas/Stage"
    assert document["components"]["schemas"]["Stage"]["enum"] == [
        "queued", "requeued", "starting", "preparing_models", "transcribing", "diarizing",
        "summarizing", "offering", "deciding", "writing", "done", "failed",
    ]  # fmt: skip
    assert {"stage_progress", "progress"} <= set(job)
