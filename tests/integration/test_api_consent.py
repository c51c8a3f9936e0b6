"""Consent over HTTP: one click each way, the receipt, Idempotency-Key and Sec-GPC."""

from __future__ import annotations

from typing import Any

from tests.integration.api_support import Api


def served_notice(api: Api, who: str = "member") -> str:
    reply = api.client.get("/v1/consent/notice", headers=api.auth("acme", who))
    assert reply.status_code == 200, reply.text
    notice_id: str = reply.json()["notice"]["id"]
    return notice_id


def decide(api: Api, decision: str, who: str = "member", **extra: Any) -> Any:
    headers = {**api.auth("acme", who), **extra.pop("headers", {})}
    return api.client.post("/v1/consent", json={"decision": decision, **extra}, headers=headers)


def states(api: Api, who: str = "member") -> dict[str, str]:
    me = api.client.get("/v1/consent/me", headers=api.auth("acme", who)).json()
    return {c["purpose"]: c["state"] for c in me["consent"]}


def test_giving_and_withdrawing_are_one_call_each_and_the_receipt_lists_both(api: Api) -> None:
    notice = served_notice(api)
    given = decide(api, "given", notice_version_id=notice)
    assert given.status_code == 201, given.text
    me = api.client.get("/v1/consent/me", headers=api.auth()).json()
    assert states(api) == {"train_ai_system": "given"}
    assert me["training_use_now"]["result"] == "allow"
    withdrawn = decide(api, "withdrawn")
    assert withdrawn.status_code == 201, withdrawn.text
    assert states(api) == {"train_ai_system": "withdrawn"}
    receipt = api.client.get("/v1/consent/me/history", headers=api.auth()).json()
    assert [e["state"] for e in receipt["events"]] == ["given", "withdrawn"]
    assert all(len(e["entry_hash"]) == 64 for e in receipt["events"])
    assert api.client.get("/v1/audit/verify", headers=api.auth("acme", "admin")).json()["ok"]


def test_giving_needs_the_notice_to_have_been_served_and_writes_nothing_otherwise(
    api: Api,
) -> None:
    other_notice = served_notice(api, "member2")  # served to someone else only
    refused = decide(api, "given", notice_version_id=other_notice)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "notice_not_served"
    missing = decide(api, "given")
    assert missing.status_code in (409, 422), missing.text
    assert states(api) == {}


def test_no_request_can_name_whose_consent_it_records(api: Api) -> None:
    notice = served_notice(api)
    member2 = api.people["acme", "member2"].subject_id
    reply = decide(api, "given", notice_version_id=notice, subject_id=member2)
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "invalid_request"
    assert states(api, "member2") == {}


def test_the_same_idempotency_key_and_body_replays_the_first_answer_and_writes_nothing(
    api: Api,
) -> None:
    notice = served_notice(api)
    key = {"headers": {"Idempotency-Key": "give-once"}}
    first = decide(api, "given", notice_version_id=notice, **key)
    again = decide(api, "given", notice_version_id=notice, headers={"Idempotency-Key": "give-once"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = decide(api, "withdrawn", headers={"Idempotency-Key": "give-once"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_conflict"
    receipt = api.client.get("/v1/consent/me/history", headers=api.auth()).json()
    assert [e["state"] for e in receipt["events"]] == ["given"]


def test_a_failed_request_frees_its_idempotency_key(api: Api) -> None:
    key = {"Idempotency-Key": "retry-me"}
    bad = decide(api, "given", headers=key)  # no notice served yet
    assert bad.status_code >= 400
    notice = served_notice(api)
    good = decide(api, "given", notice_version_id=notice, headers=key)
    assert good.status_code == 201, good.text


def test_a_request_with_sec_gpc_opts_its_subject_out_once(api: Api) -> None:
    notice = served_notice(api)
    assert decide(api, "given", notice_version_id=notice).status_code == 201
    gpc = {**api.auth(), "Sec-GPC": "1"}
    assert api.client.get("/v1/consent/me", headers=gpc).status_code == 200
    assert api.client.get("/v1/consent/me", headers=gpc).status_code == 200
    events = api.client.get("/v1/consent/me/history", headers=api.auth()).json()["events"]
    assert [(e["state"], e["method"], e["gpc"]) for e in events] == [
        ("given", "explicit", False),
        ("withdrawn", "gpc", True),
    ]


def test_an_admin_sees_counts_of_decisions_never_who_decided(api: Api) -> None:
    notice = served_notice(api)
    decide(api, "given", notice_version_id=notice)
    decide(api, "refused", "member2")
    reply = api.client.get("/v1/admin/consent-counts", headers=api.auth("acme", "admin"))
    assert reply.status_code == 200
    body = reply.json()
    assert body["counts"]["given"] == 1 and body["counts"]["refused"] == 1
    assert api.people["acme", "member"].subject_id not in reply.text


def test_an_admin_sets_switches_and_publishes_a_notice_version(api: Api) -> None:
    admin = api.auth("acme", "admin")
    off = api.client.patch("/v1/admin/tenant", json={"training_sharing_enabled": False},
                           headers=admin)  # fmt: skip
    assert off.status_code == 200 and off.json()["training_sharing_enabled"] is False
    assert off.json()["ai_features_enabled"] is True  # left out, left alone
    body = {"title": "Training, second edition", "body": "We keep consented examples.",
            "material_change": True}  # fmt: skip
    published = api.client.post("/v1/admin/notices", json=body, headers=admin)
    assert published.status_code == 201, published.text
    assert published.json()["notice"]["version"] == 2 and published.json()["created"]
    assert served_notice(api) == published.json()["notice"]["id"]


GERMAN = {
    "language": "de",
    "title": "Ihre Besprechungsinhalte behalten",
    "body": "Mit Ihrer Zustimmung behalten wir Beispiele, um den Assistenten zu verbessern.",
}


def test_a_translation_has_the_versions_terms_and_the_give_records_the_language_read(
    api: Api,
) -> None:
    admin = api.auth("acme", "admin")
    shown = api.client.get("/v1/consent/notice", headers=admin)
    assert shown.status_code == 200, shown.text
    version = shown.json()["notice"]
    url = f"/v1/admin/notices/{version['id']}/translations"
    made = api.client.post(url, json=GERMAN, headers=admin)
    assert made.status_code == 201 and made.json()["created"] is True, made.text
    again = api.client.post(url, json=GERMAN, headers=admin)
    assert again.status_code == 201 and again.json()["created"] is False
    # What people read is never changed; its own language is not a translation; a tag is.
    changed = api.client.post(url, json={**GERMAN, "body": "Wir verkaufen alles."}, headers=admin)
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "translation_exists"
    for bad in ({**GERMAN, "language": "en"}, {**GERMAN, "language": "deutsch!"}):
        assert api.client.post(url, json=bad, headers=admin).status_code == 422
    assert api.client.post(url, json=GERMAN, headers=api.auth("acme", "member")).status_code == 403

    # The member reads it in German, by asking or by their browser's languages.
    for query, header in (({"language": "de"}, {}), ({}, {"Accept-Language": "fr;q=0.9, de-AT"})):
        read = api.client.get("/v1/consent/notice", params=query,
                              headers={**api.auth("acme", "member"), **header}).json()  # fmt: skip
        notice = read["notice"]
        assert (notice["language"], notice["title"]) == ("de", GERMAN["title"])
        assert notice["languages"] == ["en", "de"] and notice["translation_id"]
        terms = ("id", "version", "purposes", "artifact_kinds", "retention_days", "recipients")
        assert {k: notice[k] for k in terms} == {k: version[k] for k in terms}
    given = decide(api, "given", notice_version_id=version["id"])
    assert given.status_code == 201, given.text
    receipt = api.client.get("/v1/consent/me/history", headers=api.auth("acme", "member")).json()
    assert receipt["events"][-1]["served_language"] == "de"
    english = api.client.get("/v1/consent/notice", headers=api.auth("acme", "member")).json()
    assert english["notice"]["language"] == "en" and english["notice"]["translation_id"] is None

    # A newer version is read in its own language until it is translated; the old one is
    # no longer translated. Every serving and translation is in the audit chain.
    newer = {"title": "Training", "body": "We keep consented examples for a year."}
    assert api.client.post("/v1/admin/notices", json=newer, headers=admin).status_code == 201
    current = api.client.get("/v1/consent/notice", params={"language": "de"},
                             headers=api.auth("acme", "member")).json()["notice"]  # fmt: skip
    assert current["language"] == "en" and current["languages"] == ["en"]
    late = api.client.post(url, json={**GERMAN, "language": "fr"}, headers=admin)
    assert late.status_code == 422 and "superseded" in late.json()["error"]["message"]
    verified = api.client.get("/v1/audit/verify", headers=admin)
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
