"""Members and guests (issue 23): `minutekeeper members` and `tokens create` through the
installed console script, on SQLite and PostgreSQL, and what a promotion does (nothing
for consent) to the gate, through the real API."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from minutekeeper.api.tokens import ApiTokenRecord, create_token
from minutekeeper.consent import gate
from minutekeeper.consent.domain import ArtifactKind, DataClass, Principal, Result, Role
from minutekeeper.consent.domain import SubjectKind as Kind
from minutekeeper.consent.ledger import tail_seq
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM
from minutekeeper.consent.redecide import BulkDecider
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import (
    AuditEntryRecord,
    ConsentEventRecord,
    GateDecisionRecord,
    SubjectPromotionRecord,
    TenantRecord,
)
from minutekeeper.core.db import create_db_engine, migrate, read_transaction, write_transaction
from minutekeeper.core.settings import Settings
from tests.conftest import World
from tests.integration.api_support import Api
from tests.integration.test_api_consent import decide, served_notice, states
from tests.integration.test_consent_attacks import (
    answer,
    consents,
    kept_texts,
    mk_on,
    requests,
    spoken,
    uploaded,
)


def run(
    data: Path, database_url: str, *args: str, tenant: str = "local", user: str = "admin"
) -> subprocess.CompletedProcess[str]:
    """The console script on this test's database, as the local admin `user`."""
    done: subprocess.CompletedProcess[str] = mk_on(
        database_url, data, user, *args, env={"MINUTEKEEPER_LOCAL_TENANT": tenant}
    )
    return done


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """The one-line error of a refused command, holding each of `words`."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    return done.stderr


def guests(data: Path, database_url: str, *names: str, again: bool = False) -> dict[str, str]:
    """Guests of the local tenant as meetings make them (names heard), by name; `again`: a
    second guest of each name (someone else heard under it)."""
    settings = Settings(data_dir=data, database_url=database_url)
    engine = create_db_engine(settings)
    migrate(engine)
    service = ConsentService.from_settings(engine, settings)
    admin = service.local_principal(tenant_name="local", user_name="admin", role=Role.ADMIN)
    if again:
        ids = [service.add_subject(admin.tenant_id, kind=Kind.GUEST, display_name=n).id
               for n in names]  # fmt: skip
    else:
        ids = service.subjects_for_names(admin.tenant_id, list(names))
    engine.dispose()
    return dict(zip(names, ids, strict=True))


def audit_rows(data: Path, database_url: str) -> list[dict[str, Any]]:
    engine = create_db_engine(Settings(data_dir=data, database_url=database_url))
    with read_transaction(engine) as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(AuditEntryRecord))]
    engine.dispose()
    return rows


@pytest.mark.timeout(300)  # 16 console-script runs: 3 s each on a loaded 2-core machine
def test_members_are_added_promoted_and_renamed_by_name_each_audited_without_names(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ids = guests(data, database_url, "Gail", "Hugo")

    listed = ok(run(data, database_url, "members", "list"))
    assert sorted(line.split()[:2] for line in listed.splitlines()[1:]) == [
        ["Gail", "guest"], ["Hugo", "guest"], ["admin", "member"]
    ]  # fmt: skip
    assert ids["Gail"] not in listed  # people see names; ids on request
    assert ids["Gail"] in ok(run(data, database_url, "members", "list", "--ids"))

    # A member under a guest's name would take over what is said under it: refused.
    refused(run(data, database_url, "members", "add", "Gail"),
            "a guest named 'Gail' exists", 'minutekeeper members promote "Gail"')  # fmt: skip
    ok(run(data, database_url, "members", "add", "Nina"))
    refused(run(data, database_url, "members", "add", "Nina"), "member already")
    refused(run(data, database_url, "members", "promote", "Nina"), "member already")
    refused(run(data, database_url, "members", "promote", "Zed"), "no one", "'Zed'")
    refused(run(data, database_url, "members", "rename", "Hugo", "Nina"), "member already")
    refused(run(data, database_url, "members", "rename", "admin", "Boss"),
            "who the command line acts as")  # fmt: skip
    renamed = ok(run(data, database_url, "members", "rename", "Hugo", "Hugo Hale"))
    assert renamed.strip() == "Hugo is Hugo Hale now (guest)."

    # A token for a guest is refused with the command that makes them a member.
    refused(run(data, database_url, "tokens", "create", "--subject", "Gail"),
            "is a guest", 'minutekeeper members promote "Gail"')  # fmt: skip
    assert token_holders(data, database_url) == {}  # nothing written
    promoted = ok(run(data, database_url, "members", "promote", "Gail"))
    assert "No consent was recorded" in promoted
    made = run(data, database_url, "tokens", "create", "--subject", "Gail", "--role", "admin")
    assert made.returncode == 0 and "for Gail (admin)" in made.stderr, made.stderr
    tokens = ok(run(data, database_url, "tokens", "list"))
    assert " Gail " in tokens and ids["Gail"] not in tokens
    people = json.loads(ok(run(data, database_url, "members", "list", "--json")))
    gail = next(p for p in people if p["name"] == "Gail")
    assert (gail["kind"], gail["roles"]) == ("member", ["admin"])

    rows = audit_rows(data, database_url)
    mine = [(r["action"], r["object_id"]) for r in rows if r["action"].startswith("subject.")]
    nina = next(p["id"] for p in people if p["name"] == "Nina")
    assert mine[:2] == [("subject.added", nina), ("subject.renamed", ids["Hugo"])]
    assert [action for action, _ in mine[2:]] == ["subject.promoted"]  # its own chained row
    for name in ("Gail", "Nina", "Hugo"):  # ids and the action, never a name
        assert all(name not in json.dumps(r, default=str) for r in rows)
    ok(run(data, database_url, "audit", "verify"))


@pytest.mark.timeout(300)  # 9 console-script runs
def test_a_guest_never_becomes_a_member_by_a_name_they_share(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    ids = guests(data, database_url, "Jon", "Ivy")
    second_ivy = guests(data, database_url, "Ivy", again=True)["Ivy"]

    both = refused(run(data, database_url, "members", "promote", "Ivy"), "2 guests")
    assert ids["Ivy"] in both and second_ivy in both  # ask which one, by id
    ok(run(data, database_url, "members", "promote", ids["Ivy"]))
    refused(run(data, database_url, "members", "promote", second_ivy), "rename this guest")
    refused(run(data, database_url, "members", "promote", "Ivy"),
            "member already", "stays a guest")  # fmt: skip
    made = run(data, database_url, "tokens", "create", "--subject", "Ivy")
    assert made.returncode == 0, made.stderr
    assert token_holders(data, database_url)[made.stdout.split("_")[1]] == ids["Ivy"]

    # The command line's own user sharing a guest's name is a new member of that name; the
    # guest stays a guest, and so do the words heard under it.
    ok(run(data, database_url, "members", "list", user="Jon"))
    people = json.loads(ok(run(data, database_url, "members", "list", "--json")))
    jons = {p["id"]: p["kind"] for p in people if p["name"] == "Jon"}
    assert jons[ids["Jon"]] == "guest" and sorted(jons.values()) == ["guest", "member"]
    kinds = {p["id"]: p["kind"] for p in people}
    assert kinds[second_ivy] == "guest"
    ok(run(data, database_url, "audit", "verify"))


def token_holders(data: Path, database_url: str) -> dict[str, str]:
    """Each stored token's id and the subject it belongs to."""
    engine = create_db_engine(Settings(data_dir=data, database_url=database_url))
    with read_transaction(engine) as conn:
        rows = conn.execute(select(ApiTokenRecord.id, ApiTokenRecord.subject_id)).all()
    engine.dispose()
    return {row.id: row.subject_id for row in rows}


# --- promotion grants nothing: the gate through the real API --------------------------

LAKE = "We should move the offsite to the lake house."
CABIN = "We should move the offsite to the mountain cabin."
OFFICE = "We should move the offsite to the city office."


def with_gail(line: str) -> bytes:
    return spoken(("Alice", "Let us plan the offsite."), ("Gail", line),
                  ("Alice", "I will book it tomorrow."))  # fmt: skip


def verdicts(api: Api, subject_id: str) -> list[tuple[str, ...]]:
    """The gate's reasons on `subject_id`'s words, decision by decision, oldest first."""
    with read_transaction(api.runtime.engine) as conn:
        rows = conn.execute(
            select(GateDecisionRecord.contributors).order_by(GateDecisionRecord.decided_at)
        ).scalars()
        return [tuple(v["reasons"]) for row in rows for v in row if v["contributor"] == subject_id]


def confirmed_as(api: Api, who: str, subject_id: str, reason: str | None) -> None:
    """`who` confirms their one open request; wait for the meeting to be decided again and
    check what the gate said of their words (None: allowed)."""
    (request,) = [r for r in requests(api, who) if r["status"] == "pending"]
    before = len(verdicts(api, subject_id))
    assert answer(api, who, request, "me").status_code == 200
    deadline = time.monotonic() + 30
    while len(verdicts(api, subject_id)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    latest = verdicts(api, subject_id)[-1]
    assert latest == (() if reason is None else (reason,)), latest


@pytest.mark.timeout(300)  # 4 console-script runs and 3 meetings summarized
def test_a_promoted_guest_records_nothing_until_they_consent_themselves(
    api: Api, settings: Settings
) -> None:
    url = settings.resolved_database_url()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run(settings.data_dir, url, *args, tenant="acme", user="acme-admin")

    consents(api, "Alice")
    assert "GUEST" in uploaded(api, "Alice", with_gail(LAKE))["meeting_summary"]
    tenant_id = api.people["acme", "Alice"].tenant_id
    gail = api.runtime.service.resolve_person(tenant_id, "Gail")
    assert gail.kind is Kind.GUEST

    # The README's old advice: a token for the guest. Refused now, with the way out; one an
    # earlier release made is a guest's, and its consent page says what to do.
    refused(cli("tokens", "create", "--subject", "Gail"), 'minutekeeper members promote "Gail"')
    guest = Principal(tenant_id, gail.id, Role.MEMBER)
    api.tokens["acme", "Gail"], _ = create_token(api.runtime.service, guest, name="old",
                                                 valid_for=timedelta(days=1))  # fmt: skip
    notice = served_notice(api, "Alice")  # the current version, shown to Alice only
    early = decide(api, "given", "Gail", notice_version_id=notice)
    assert early.status_code == 403 and "members promote" in early.json()["error"]["message"]
    assert "No consent was recorded" in ok(cli("members", "promote", "Gail"))

    # Promotion gave no consent and served no notice: a give needs a serving first.
    with read_transaction(api.runtime.engine) as conn:
        events = conn.execute(
            select(func.count()).where(ConsentEventRecord.subject_id == gail.id)
        ).scalar_one()
    assert events == 0 and states(api, "Gail") == {}
    unserved = decide(api, "given", "Gail", notice_version_id=notice)
    assert unserved.status_code == 409, unserved.text
    assert unserved.json()["error"]["code"] == "notice_not_served"

    # Their words: a claim they must confirm, then still no consent of theirs.
    assert "UNVERIFIED" in uploaded(api, "Alice", with_gail(CABIN))["meeting_summary"]
    confirmed_as(api, "Gail", gail.id, "NO_CONSENT")
    # Once they read the notice and agree themselves, what they say from then on is kept.
    given = decide(api, "given", "Gail", notice_version_id=served_notice(api, "Gail"))
    assert given.status_code == 201, given.text
    uploaded(api, "Alice", with_gail(OFFICE))
    confirmed_as(api, "Gail", gail.id, None)
    kept = kept_texts(api)
    assert "city office" in kept and "mountain cabin" not in kept and "lake house" not in kept
    ok(cli("audit", "verify"))


# --- the gate: words heard while a guest stay a guest's --------------------------------


def test_a_decision_made_while_they_were_a_guest_replays_to_itself_after_promotion(
    world: World,
) -> None:
    service = world.service
    gail_id = world.other(Kind.GUEST, "Gail")
    heard = service.record_artifact(
        world.tenant_id, kind=ArtifactKind.MEETING_SUMMARY, data_class=DataClass.DERIVED_CONTENT,
        input="in", output="out", contributors=[gail_id], vouched_by=[gail_id],
    )  # fmt: skip
    then = service.decide(world.tenant_id, heard.id)
    assert then.reasons == (gate.Reason.NON_CONSENTING_CONTRIBUTOR.value, "GUEST")

    assert multi_user_since(world) is None
    gail = Principal(world.tenant_id, service.promote(world.admin, "Gail").id, Role.MEMBER)
    assert multi_user_since(world) is not None  # a second member: own sessions only
    world.give(gail)
    recorded, replayed = service.replay(world.tenant_id, then.id or "")
    assert replace(replayed, id=recorded.id) == recorded
    # Decided now, with their consent standing: still a guest's words, in the gate and in
    # an export's bulk re-decision alike.
    now = service.decide(world.tenant_id, heard.id)
    assert now.reasons == then.reasons
    with read_transaction(service.engine) as conn:
        bulk = BulkDecider(conn, tenant_id=world.tenant_id, purpose=TRAIN_AI_SYSTEM,
                           ledger_seq=tail_seq(conn), decided_at=service.clock())  # fmt: skip
        assert bulk.decide(heard).reasons == then.reasons
    said_since = service.record_artifact(
        world.tenant_id, kind=ArtifactKind.MEETING_SUMMARY, data_class=DataClass.DERIVED_CONTENT,
        input="in", output="out", contributors=[gail_id], vouched_by=[gail_id],
    )  # fmt: skip
    assert service.decide(world.tenant_id, said_since.id).result is Result.ALLOW
    # Moving the promotion back to before the words were heard is found by `audit verify`.
    with write_transaction(service.engine) as conn:
        conn.execute(update(SubjectPromotionRecord).values(promoted_at=heard.captured_at))
    audit = next(c for c in service.verify().chains if c.chain == "audit")
    assert audit.problem is not None and "subject_promotion" in audit.problem, audit


def multi_user_since(world: World) -> Any:
    with read_transaction(world.service.engine) as conn:
        return conn.execute(
            select(TenantRecord.multi_user_since).where(TenantRecord.id == world.tenant_id)
        ).scalar_one()
