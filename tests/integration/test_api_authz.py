"""Who may call what: every route x every caller (no token, a made-up token, each role,
in the owner's tenant and in another), from one explicit table.

Semantics: no valid token -> 401 (the health checks and /metrics excepted); a valid token
of the wrong role -> 403; another tenant's or another member's meeting, job or draft ->
404, reading exactly like one that does not exist; your own -> 2xx. A meeting shared with
a member who confirmed speaking in it reads for them (2xx), and what only its owner does
(rename its speakers, delete it) -> 403. A route missing from the table fails the test,
so a new route cannot go unchecked.

Drafts come from a scripted language model registered as its own backend (`scripted`),
so compose answers 201 without loading a real model.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from minutekeeper.api.tokens import create_token, revoke_token
from minutekeeper.consent.domain import Role
from minutekeeper.core.db import utcnow
from minutekeeper.core.settings import Settings
from minutekeeper.features.meetings.media import media_folder
from minutekeeper.features.meetings.store import find_meeting, save_meeting
from tests.integration.api_support import Api, finished_job, scripted_settings

EXAMPLES = Path(__file__).parents[2] / "examples"
RECORDING = Path(__file__).parents[1] / "fixtures" / "audio" / "silence.wav"
TINY_VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Ann>Hello, we ship on Friday.\n"
THREAD = [{"id": "m1", "author": "Alice", "text": "Are the laptops ready?"}]
NAMING_VTT = b"WEBVTT\n\n00:00:00.500 --> 00:00:02.000\n<v acme-member>Are the users ready?\n"

# The callers, in the order of each row's statuses. "acme" owns every resource below
# (the member's meeting and draft, the ML exporter's export job and export).
CALLERS = (
    "anonymous",  # no Authorization header
    "made_up",  # a well-formed token that was never issued
    # A member the owner named as a speaker of their meeting, who confirmed those words:
    # the meeting is shared with them (before the owner, who deletes it in the last row).
    "acme/participant",
    "acme/member",  # the owner
    "acme/member2",  # another member of the same tenant
    "acme/admin",
    "acme/ml_exporter",
    "globex/member",
    "globex/admin",
    "globex/ml_exporter",
)
MADE_UP = "mk_000000000000_" + "x" * 43


@dataclass(frozen=True)
class Row:
    """One call and the status each caller gets, in `CALLERS` order. `ids` says which
    resource fills each path parameter (default: `DEFAULT_IDS`); `body` builds the JSON
    body from the resources; `upload` sends a small subtitle file as multipart."""

    method: str
    route: str
    statuses: tuple[int, ...]
    ids: dict[str, str] = field(default_factory=dict)
    body: Callable[[Resources], Any] | None = None
    upload: bool = False
    params: dict[str, str] = field(default_factory=dict)


DEFAULT_IDS = {
    "meeting_id": "meeting",
    "job_id": "meeting",  # a meeting's job has the meeting's id
    "draft_id": "draft",
    "export_id": "export",
    "request_id": "attribution",
    "item_id": "attribution_item",
    "version_id": "notice",
}

# fmt: off
TABLE: list[Row] = [
    #   anon made_up particip. member member2 admin exporter g/member g/admin g/exp.
    Row("GET", "/health", (200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/health", (200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/metrics", (200, 200, 200, 200, 200, 200, 200, 200, 200, 200)),
    # consent: anyone with a token, always about themselves
    Row("GET", "/v1/consent/notice", (401, 401, 200, 200, 200, 200, 200, 200, 200, 200)),
    Row("POST", "/v1/consent", (401, 401, 201, 201, 201, 201, 201, 201, 201, 201),
        body=lambda r: {"decision": "refused"}),
    Row("GET", "/v1/consent/me", (401, 401, 200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/consent/me/history", (401, 401, 200, 200, 200, 200, 200, 200, 200, 200)),
    # admin: each tenant's admin, about their own tenant
    Row("GET", "/v1/admin/tenant", (401, 401, 403, 403, 403, 200, 403, 403, 200, 403)),
    Row("PATCH", "/v1/admin/tenant", (401, 401, 403, 403, 403, 200, 403, 403, 200, 403),
        body=lambda r: {"training_sharing_enabled": True}),
    Row("POST", "/v1/admin/notices/{version_id}/translations",
        (401, 401, 403, 403, 403, 201, 403, 403, 404, 403),
        body=lambda r: {"language": "de", "title": "Titel", "body": "Text."}),
    Row("POST", "/v1/admin/notices", (401, 401, 403, 403, 403, 201, 403, 403, 201, 403),
        body=lambda r: {"title": "Training", "body": "We may keep what you say."}),
    Row("GET", "/v1/admin/subjects", (401, 401, 403, 403, 403, 200, 403, 403, 200, 403)),
    Row("GET", "/v1/admin/consent-counts", (401, 401, 403, 403, 403, 200, 403, 403, 200, 403)),
    Row("GET", "/v1/audit/verify", (401, 401, 403, 403, 403, 200, 403, 403, 200, 403)),
    # meetings: members and admins; the uploader sees a meeting, and who confirmed words in it
    Row("POST", "/v1/meetings", (401, 401, 202, 202, 202, 202, 403, 202, 202, 403), upload=True),
    Row("GET", "/v1/meetings", (401, 401, 200, 200, 200, 200, 403, 200, 200, 403)),
    Row("GET", "/v1/meetings/{meeting_id}", (401, 401, 200, 200, 404, 404, 403, 404, 404, 403)),
    Row("GET", "/v1/meetings/{meeting_id}/transcript",
        (401, 401, 200, 200, 404, 404, 403, 404, 404, 403)),
    Row("GET", "/v1/meetings/{meeting_id}/summary",
        (401, 401, 200, 200, 404, 404, 403, 404, 404, 403)),
    Row("GET", "/v1/meetings/{meeting_id}/audio",
        (401, 401, 200, 200, 404, 404, 403, 404, 404, 403)),
    Row("PATCH", "/v1/meetings/{meeting_id}/speakers",
        (401, 401, 403, 200, 404, 404, 403, 404, 404, 403),
        body=lambda r: {"names": {r.speaker: "Alicia"}}),
    Row("POST", "/v1/meetings/{meeting_id}/ask",
        (401, 401, 200, 200, 404, 404, 403, 404, 404, 403),
        body=lambda r: {"question": "What was decided about the release?"}),
    # search: in the meetings the caller sees (no one's 404: what is not theirs is not found)
    Row("GET", "/v1/search", (401, 401, 200, 200, 200, 200, 403, 200, 200, 403),
        params={"q": "release"}),
    # jobs: anyone with a token, only the job's starter sees it
    Row("GET", "/v1/jobs/{job_id}", (401, 401, 404, 200, 404, 404, 404, 404, 404, 404)),
    Row("GET", "/v1/jobs/{job_id}", (401, 401, 404, 404, 404, 404, 200, 404, 404, 404),
        ids={"job_id": "export_job"}),
    Row("GET", "/v1/jobs/{job_id}/events", (401, 401, 404, 200, 404, 404, 404, 404, 404, 404)),
    Row("GET", "/v1/jobs/{job_id}/events", (401, 401, 404, 404, 404, 404, 200, 404, 404, 404),
        ids={"job_id": "export_job"}),
    # compose: members and admins; a draft is its author's only
    Row("POST", "/v1/compose", (401, 401, 201, 201, 201, 201, 403, 201, 201, 403),
        body=lambda r: {"thread": THREAD}),
    Row("POST", "/v1/compose", (401, 401, 404, 201, 404, 404, 403, 404, 404, 403),
        body=lambda r: {"mode": "followup", "meeting_id": r.meeting}),
    Row("GET", "/v1/compose/{draft_id}", (401, 401, 404, 200, 404, 404, 403, 404, 404, 403)),
    # attribution requests: only the person named sees or answers theirs
    Row("GET", "/v1/attributions", (401, 401, 200, 200, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/attributions/{request_id}",
        (401, 401, 404, 200, 404, 404, 404, 404, 404, 404)),
    Row("GET", "/v1/attributions/{request_id}/items/{item_id}/audio",
        (401, 401, 404, 200, 404, 404, 404, 404, 404, 404)),
    Row("POST", "/v1/attributions/{request_id}/answer",
        (401, 401, 404, 200, 404, 404, 403, 404, 404, 403),
        body=lambda r: {"answers": {r.attribution_item: "me"}}),
    Row("POST", "/v1/compose/{draft_id}/feedback",
        (401, 401, 404, 201, 404, 404, 403, 404, 404, 403),
        body=lambda r: {"sent_text": "Yes, they are ready.", "rating": 4}),
    # exports: the ML exporter of the export's tenant
    Row("GET", "/v1/exports", (401, 401, 403, 403, 403, 403, 200, 403, 403, 200)),
    Row("GET", "/v1/exports/{export_id}", (401, 401, 403, 403, 403, 403, 200, 403, 403, 404)),
    Row("GET", "/v1/exports/{export_id}/tombstones",
        (401, 401, 403, 403, 403, 403, 200, 403, 403, 404)),
    Row("GET", "/v1/exports/{export_id}/download",
        (401, 401, 403, 403, 403, 403, 200, 403, 403, 404)),
    # last: a new export version must not change what the rows above read
    Row("POST", "/v1/exports", (401, 401, 403, 403, 403, 403, 202, 403, 403, 202),
        body=lambda r: {}),
    # very last: only its owner deletes a meeting (a participant is refused; it is gone for
    # every caller after its owner)
    Row("DELETE", "/v1/meetings/{meeting_id}", (401, 401, 403, 204, 404, 404, 403, 404, 404, 403)),
]
# fmt: on


@dataclass(frozen=True)
class Resources:
    meeting: str  # the acme member's meeting (summarized, with a recording kept)
    speaker: str  # a speaker id in it
    draft: str  # the acme member's draft
    export_job: str  # the acme ML exporter's export job
    export: str  # the export it built
    attribution: str  # a request to the acme member: member2 named them in a thread
    attribution_item: str  # its one item
    notice: str  # acme's current notice version


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The shared settings, with the scripted language model as the LLM backend."""
    return scripted_settings(tmp_path, database_url, monkeypatch)


def headers_of(api: Api, caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "made_up":
        return {"Authorization": f"Bearer {MADE_UP}"}
    tenant, role = caller.split("/")
    return api.auth(tenant, role)


def finished(api: Api, job_id: str, caller: str, timeout: float = 90) -> dict[str, Any]:
    return finished_job(api.client, job_id, headers_of(api, caller), timeout=timeout)


def build_resources(api: Api, *, meeting: bool = True, rest: bool = True) -> Resources:
    """The acme member's meeting (shared with the participant, who confirmed words in it)
    and draft, and the acme ML exporter's export job and export; what is left out
    (`meeting`, `rest`) is a random id that names nothing."""
    api.add_person("acme", "participant", Role.MEMBER, name="acme-participant")
    member, exporter = api.auth("acme", "member"), api.auth("acme", "ml_exporter")
    names = ("meeting", "draft", "export_job", "export", "attribution", "attribution_item")
    found = {name: str(uuid.uuid4()) for name in names}
    found["speaker"] = "S1"
    found["notice"] = api.runtime.service.current_notice(api.people["acme", "admin"].tenant_id).id
    if meeting:
        with (EXAMPLES / "meeting.vtt").open("rb") as handle:
            accepted = api.client.post(
                "/v1/meetings", headers=member, files={"recording": ("meeting.vtt", handle)}
            )
        assert accepted.status_code == 202, accepted.text
        found["meeting"] = accepted.json()["meeting_id"]
    if rest:
        started = api.client.post("/v1/exports", headers=exporter, json={})
        assert started.status_code == 202, started.text
        composed = api.client.post("/v1/compose", headers=member, json={"thread": THREAD})
        assert composed.status_code == 201, composed.text
        export_job = finished(api, started.json()["id"], "acme/ml_exporter")
        assert export_job["status"] == "succeeded", export_job
        found |= {
            "draft": composed.json()["id"],
            "export_job": export_job["id"],
            "export": export_job["result"]["export_id"],
        }
        # member2 uploads a meeting naming the member as a speaker, its recording kept:
        # the member is asked about those words and can hear them.
        naming = {"recording": ("named.vtt", NAMING_VTT, "text/vtt")}
        named = api.client.post("/v1/meetings", headers=api.auth("acme", "member2"), files=naming)
        named_id = named.json()["meeting_id"]
        assert finished(api, named_id, "acme/member2")["status"] == "succeeded"
        named_folder = media_folder(api.runtime.settings.resolved_media_dir(), named_id)
        shutil.copy(RECORDING, named_folder / "recording.wav")
        (request,) = api.client.get("/v1/attributions", headers=member).json()["items"]
        found |= {"attribution": request["id"], "attribution_item": request["items"][0]["id"]}
    if meeting:
        assert finished(api, found["meeting"], "acme/member")["status"] == "succeeded"
        # A subtitle upload keeps no recording; put one beside the meeting for /audio.
        folder = media_folder(api.runtime.settings.resolved_media_dir(), found["meeting"])
        shutil.copy(RECORDING, folder / "recording.wav")
        got = api.client.get(f"/v1/meetings/{found['meeting']}", headers=member).json()
        found["speaker"] = got["transcript"]["speakers"][0]["id"]
        share_with_participant(api, found["meeting"], got["transcript"]["speakers"][1]["id"])
    return Resources(**found)


def share_with_participant(api: Api, meeting_id: str, label: str) -> None:
    """The member names speaker `label` of their meeting after the participant, who
    confirms the words are theirs: the meeting is shared with them from then on."""
    renamed = api.client.patch(f"/v1/meetings/{meeting_id}/speakers",
                               json={"names": {label: "acme-participant"}},
                               headers=api.auth("acme", "member"))  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    participant = api.auth("acme", "participant")
    (request,) = api.client.get("/v1/attributions", headers=participant).json()["items"]
    answers = {"answers": {item["id"]: "me" for item in request["items"]}}
    answered = api.client.post(f"/v1/attributions/{request['id']}/answer", json=answers,
                               headers=participant)  # fmt: skip
    assert answered.json()["status"] == "confirmed", answered.text


def path_of(row: Row, resources: Resources, **override: str) -> str:
    ids = {**DEFAULT_IDS, **row.ids}
    values = {name: getattr(resources, ids[name]) for name in ids}
    return row.route.format(**{**values, **override})


def call(api: Api, row: Row, path: str, headers: dict[str, str], resources: Resources) -> Any:
    if row.upload:
        files = {"recording": ("tiny.vtt", TINY_VTT, "text/vtt")}
        return api.client.request(row.method, path, headers=headers, files=files)
    body = row.body(resources) if row.body is not None else None
    return api.client.request(row.method, path, headers=headers, json=body, params=row.params)


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every API route: those under /v1, the health checks, /metrics."""
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        if route.path.startswith("/v1/") or route.path in ("/health", "/metrics"):
            found |= {(method, route.path) for method in route.methods or ()}
    return found


def started_jobs(replies: Iterator[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(caller, job id) of every accepted upload or export, to wait for before the end."""
    jobs = []
    for caller, reply in replies:
        if reply.status_code == 202:
            body = reply.json()
            jobs.append((caller, body["job"]["id"] if "job" in body else body["id"]))
    return jobs


def test_the_table_covers_every_route_and_every_caller(api: Api) -> None:
    assert isinstance(api.client.app, FastAPI)
    served = api_routes(api.client.app)
    listed = {(row.method, row.route) for row in TABLE}
    assert not served - listed, f"routes with no row in TABLE: {sorted(served - listed)}"
    assert not listed - served, f"rows for routes that do not exist: {sorted(listed - served)}"
    short = [(row.method, row.route) for row in TABLE if len(row.statuses) != len(CALLERS)]
    assert not short, f"rows without a status for each of {CALLERS}: {short}"


def test_every_route_answers_each_caller_as_the_table_says(api: Api) -> None:
    resources = build_resources(api)
    wrong, replies = [], []
    for row in TABLE:
        path = path_of(row, resources)
        for caller, expected in zip(CALLERS, row.statuses, strict=True):
            reply = call(api, row, path, headers_of(api, caller), resources)
            replies.append((caller, reply))
            if reply.status_code != expected:
                wrong.append(
                    f"{row.method} {row.route} as {caller}: {reply.status_code}, "
                    f"expected {expected}: {reply.text[:200]}"
                )
            elif expected in (401, 403):
                code = reply.json()["error"]["code"]
                want = "unauthenticated" if expected == 401 else "forbidden"
                assert code == want, f"{row.method} {row.route} as {caller}: code {code}"
                if expected == 401:
                    assert reply.headers["www-authenticate"] == "Bearer", (row.route, caller)
    for caller, job_id in started_jobs(iter(replies)):
        finished(api, job_id, caller)
    assert not wrong, "\n".join(wrong)


def not_found_shape(reply: Any, ref: str) -> tuple[int, str, str]:
    error = reply.json()["error"]
    return reply.status_code, error["code"], error["message"].replace(ref, "<ref>")


def mismatched_not_founds(api: Api, rows: list[Row], resources: Resources) -> list[str]:
    """Where another caller's 404 for an existing resource differs (code or message, the
    id aside) from their 404 for an id that names nothing."""
    mismatched = []
    for row in rows:
        ids = {**DEFAULT_IDS, **row.ids}
        for caller, expected in zip(CALLERS, row.statuses, strict=True):
            if expected != 404:
                continue
            for name in (n for n in ids if "{" + n + "}" in row.route):
                real = getattr(resources, ids[name])
                missing = str(uuid.uuid4())
                headers = headers_of(api, caller)
                got = call(api, row, path_of(row, resources), headers, resources)
                none = call(
                    api, row, path_of(row, resources, **{name: missing}), headers, resources
                )
                if not_found_shape(got, real) != not_found_shape(none, missing):
                    mismatched.append(
                        f"{row.method} {row.route} as {caller}: {got.json()} vs {none.json()}"
                    )
    return mismatched


def test_another_callers_job_draft_or_export_reads_exactly_like_a_missing_one(api: Api) -> None:
    rows = [row for row in TABLE if "{" in row.route and "meeting_id" not in row.route]
    wrong = mismatched_not_founds(api, rows, build_resources(api))
    assert not wrong, "\n".join(wrong)


def test_another_members_meeting_reads_exactly_like_a_missing_one(api: Api) -> None:
    rows = [row for row in TABLE if "{meeting_id}" in row.route]
    wrong = mismatched_not_founds(api, rows, build_resources(api, rest=False))
    assert not wrong, "\n".join(wrong)


def test_another_tenants_notice_version_reads_exactly_like_a_missing_one(api: Api) -> None:
    """Every route that takes a notice version id, in its path or its body: acme's current
    version, named by globex's people, answers as an id that names nothing."""
    theirs = api.runtime.service.current_notice(api.people["acme", "admin"].tenant_id).id
    translation = {"language": "de", "title": "Titel", "body": "Text."}
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("member", "/v1/consent", {"decision": decision})
        for decision in ("given", "refused", "withdrawn")
    ]
    calls.append(("admin", "/v1/admin/notices/{ref}/translations", None))
    for role, route, decision in calls:
        shapes = []
        for ref in (theirs, str(uuid.uuid4())):
            body = {**decision, "notice_version_id": ref} if decision else translation
            reply = api.client.post(route.format(ref=ref), json=body,
                                    headers=api.auth("globex", role))  # fmt: skip
            shapes.append(not_found_shape(reply, ref))
        assert shapes[0] == shapes[1], (route, decision, shapes)
        assert shapes[0][:2] == (404, "unknown_notice_version"), (route, decision, shapes)
    assert api.runtime.service.history(api.people["globex", "member"]) == []


def give_and_withdraw(api: Api, tenant: str, role: str) -> list[str]:
    headers = api.auth(tenant, role)
    notice = api.client.get("/v1/consent/notice", headers=headers).json()["notice"]["id"]
    ids = []
    for body in ({"decision": "given", "notice_version_id": notice}, {"decision": "withdrawn"}):
        reply = api.client.post("/v1/consent", headers=headers, json=body)
        assert reply.status_code == 201, (tenant, role, reply.text)
        ids.append(reply.json()["id"])
    return ids


def test_a_consent_history_is_only_ever_the_callers_own(api: Api) -> None:
    mine = give_and_withdraw(api, "acme", "member")
    refused = api.client.post(
        "/v1/consent", headers=api.auth("acme", "member2"), json={"decision": "refused"}
    )
    assert refused.status_code == 201, refused.text
    member = api.people["acme", "member"].subject_id
    # No route takes a subject: a query parameter naming one is ignored, a body field refused.
    for query in ("", f"?subject_id={member}", f"?subject={member}"):
        for tenant, role in (
            ("acme", "member2"),
            ("acme", "admin"),
            ("globex", "member"),
            ("globex", "admin"),
            ("acme", "ml_exporter"),
        ):
            got = api.client.get(f"/v1/consent/me/history{query}", headers=api.auth(tenant, role))
            assert got.status_code == 200, (query, tenant, role, got.text)
            receipt = got.json()
            who = f"history{query} as {tenant}/{role}"
            assert receipt["subject_id"] == api.people[tenant, role].subject_id, who
            assert not {e["id"] for e in receipt["events"]} & set(mine), who
    others = api.client.get("/v1/consent/me/history", headers=api.auth("acme", "member2")).json()
    assert [e["state"] for e in others["events"]] == ["refused"]
    own = api.client.get("/v1/consent/me/history", headers=api.auth("acme", "member")).json()
    assert [e["id"] for e in own["events"]] == mine
    for_another = api.client.post(
        "/v1/consent",
        headers=api.auth("acme", "member2"),
        json={"decision": "withdrawn", "subject_id": member},
    )
    assert for_another.status_code == 422, for_another.text
    assert (
        api.client.get("/v1/consent/me", headers=api.auth("acme", "member")).json()["consent"][0][
            "state"
        ]
        == "withdrawn"
    )


def test_a_member_never_reads_another_tenants_meetings(api: Api) -> None:
    resources = build_resources(api, rest=False)
    meeting = resources.meeting
    for role in ("member", "admin"):
        headers = api.auth("globex", role)
        listed = api.client.get("/v1/meetings", headers=headers)
        assert listed.status_code == 200 and listed.json()["items"] == [], f"globex/{role}"
        for ref in (meeting, meeting[:8], meeting.upper()):
            for suffix in ("", "/transcript", "/summary", "/audio"):
                got = api.client.get(f"/v1/meetings/{ref}{suffix}", headers=headers)
                assert got.status_code == 404, f"GET /v1/meetings/{ref}{suffix} as globex/{role}"
        followup = api.client.post(
            "/v1/compose", headers=headers, json={"mode": "followup", "meeting_id": meeting}
        )
        assert followup.status_code == 404, f"compose followup as globex/{role}"
        found = api.client.get("/v1/search", params={"q": "release"}, headers=headers)
        assert found.status_code == 200 and found.json()["items"] == [], f"search as {role}"
    # In its own tenant the words are there, for the owner to find.
    mine = api.client.get("/v1/search", params={"q": "release"}, headers=api.auth())
    assert {hit["meeting_id"] for hit in mine.json()["items"]} == {meeting}


def test_an_expired_or_revoked_token_is_refused_on_every_route(api: Api) -> None:
    # The token is checked before anything is looked up: ids that name nothing will do.
    engine, resources = api.runtime.engine, build_resources(api, meeting=False, rest=False)
    refused: dict[str, str] = {}
    for tenant, role in (("acme", "member"), ("acme", "admin"), ("globex", "ml_exporter")):
        person = api.people[tenant, role]
        # Made two days ago, valid for one: expired a day ago.
        expired, _ = create_token(
            api.runtime.service,
            person,
            name="expired",
            valid_for=timedelta(days=1),
            clock=lambda: utcnow() - timedelta(days=2),
        )
        revoked, info = create_token(
            api.runtime.service, person, name="revoked", valid_for=timedelta(days=1)
        )
        me = api.client.get("/v1/consent/me", headers={"Authorization": f"Bearer {revoked}"})
        assert me.status_code == 200, f"{tenant}/{role}: the token works before it is revoked"
        revoke_token(engine, person.tenant_id, info.id)
        refused[f"{tenant}/{role} expired"] = expired
        refused[f"{tenant}/{role} revoked"] = revoked
    wrong = []
    for row in TABLE:
        path = path_of(row, resources)
        open_route = row.statuses[CALLERS.index("anonymous")] == 200
        for label, token in refused.items():
            reply = call(api, row, path, {"Authorization": f"Bearer {token}"}, resources)
            expected = 200 if open_route else 401
            if reply.status_code != expected:
                wrong.append(f"{row.method} {row.route} with {label}: {reply.status_code}")
            elif expected == 401:
                error = reply.json()["error"]
                why = label.rsplit(" ", 1)[1]  # "expired" or "revoked"
                if error["code"] != "unauthenticated" or why not in error["message"]:
                    wrong.append(f"{row.method} {row.route} with {label}: {reply.text}")
    assert not wrong, "\n".join(wrong)


def test_a_prefix_shared_with_another_members_meeting_reveals_nothing(api: Api) -> None:
    resources = build_resources(api, rest=False)
    theirs = find_meeting(
        api.runtime.engine, api.people["acme", "member"].tenant_id, resources.meeting
    )
    member2 = api.people["acme", "member2"]
    prefix = resources.meeting[:8]
    mine = prefix + str(uuid.uuid4())[8:]
    save_meeting(
        api.runtime.engine,
        tenant_id=member2.tenant_id,
        owner_id=member2.subject_id,
        title="mine",
        transcript=theirs.transcript,
        meeting_id=mine,
    )
    got = api.client.get(f"/v1/meetings/{prefix}", headers=api.auth("acme", "member2"))
    assert got.status_code == 200, got.text
    assert got.json()["meeting"]["id"] == mine


def test_an_own_meeting_named_by_prefix_can_be_renamed_as_it_can_be_read(api: Api) -> None:
    resources = build_resources(api, rest=False)
    prefix, member = resources.meeting[:8], api.auth("acme", "member")
    assert api.client.get(f"/v1/meetings/{prefix}", headers=member).status_code == 200
    renamed = api.client.patch(
        f"/v1/meetings/{prefix}/speakers",
        headers=member,
        json={"names": {resources.speaker: "Alicia"}},
    )
    assert renamed.status_code == 200, renamed.text


def test_a_caller_without_a_token_gets_401_whatever_the_body(api: Api) -> None:
    broken = {"Content-Type": "application/json"}
    for headers, route, expected in (
        (broken, "/v1/consent", 401),
        ({**broken, **api.auth("acme", "member")}, "/v1/exports", 403),
    ):
        reply = api.client.post(route, content=b'{"decision": ', headers=headers)
        assert reply.status_code == expected, f"POST {route}: {reply.status_code}"
