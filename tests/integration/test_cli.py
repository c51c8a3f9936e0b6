"""The CLI through its real entry point: the installed `minutekeeper` console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from minutekeeper.consent.store import ConsentEventRecord
from minutekeeper.core.db import create_db_engine, read_transaction
from minutekeeper.core.settings import Settings
from tests.conftest import cli_env

MINUTEKEEPER = str(Path(sys.executable).parent / "minutekeeper")


def mk(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = cli_env()
    env["MINUTEKEEPER_LOCAL_USER"] = "alice"
    return subprocess.run(
        [MINUTEKEEPER, "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def ledger_size(data_dir: Path) -> int:
    engine = create_db_engine(Settings(data_dir=data_dir))
    with read_transaction(engine) as conn:
        count = conn.execute(select(func.count()).select_from(ConsentEventRecord)).scalar_one()
    engine.dispose()
    return int(count)


@pytest.fixture
def ready(tmp_path: Path) -> Path:
    assert mk(tmp_path, "consent", "notice", "publish").returncode == 0
    assert mk(tmp_path, "consent", "tenant", "set", "--training-sharing", "on").returncode == 0
    return tmp_path


def test_give_status_withdraw_history_and_verify(ready: Path) -> None:
    given = mk(ready, "consent", "give", "--yes")
    assert given.returncode == 0, given.stderr
    assert "Keeping your meeting content" in given.stdout  # the notice is shown first
    assert "train_ai_system given" in given.stdout
    assert "may be kept for training" in mk(ready, "consent", "status").stdout
    assert mk(ready, "consent", "withdraw").returncode == 0
    status = mk(ready, "consent", "status").stdout
    assert "will not be kept" in status and "WITHDRAWN" in status
    history = mk(ready, "consent", "history").stdout.splitlines()
    assert [line.split()[4] for line in history] == ["given", "withdrawn"]
    verify = mk(ready, "audit", "verify")
    assert verify.returncode == 0 and "ledger: ok (2 entries" in verify.stdout


def test_prompt_answered_yes_records_consent_and_no_records_nothing(ready: Path) -> None:
    assert "Nothing recorded" in mk(ready, "consent", "give", stdin="n\n").stdout
    assert ledger_size(ready) == 0
    assert mk(ready, "consent", "give", stdin="y\n").returncode == 0
    assert ledger_size(ready) == 1


def test_republishing_the_shipped_notice_is_a_no_op(ready: Path) -> None:
    again = mk(ready, "consent", "notice", "publish")
    assert "unchanged, still version 1" in again.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["consent", "give", "--yes", "--purpose", "Train_ai_system"], "", "unknown purpose"),
        (["consent", "give", "--yes", "--purpose", "train_ai_system."], "", "unknown purpose"),
        (["consent", "give", "--yes", "--subject", "someone-else"], "", "only the person"),
        (["consent", "give", "--yes", "--valid-until", "2001-01-01"], "", "in the past"),
        (["consent", "give", "--yes", "--valid-until", "next week"], "", "YYYY-MM-DD"),
        (["consent", "give"], "", "no answer given"),
        (["consent", "withdraw", "--purpose", "train-ai"], "", "unknown purpose"),
        (["consent", "notice", "publish", "--file", "/no/such.toml"], "", "does not exist"),
        (["--database-url", "postgresql://127.0.0.1:1/x", "consent", "status"], "", "unavailable"),
        (["--database-url", "mysql://h/x", "consent", "status"], "", "unsupported database"),
    ],
)
def test_bad_input_is_one_line_error_exit_1_and_no_ledger_entry(
    ready: Path, args: list[str], stdin: str, message: str
) -> None:
    result = mk(ready, *args, stdin=stdin)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0]
    assert ledger_size(ready) == 0


def test_malformed_notice_file_names_the_problem(ready: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notice.toml"
    bad.write_text('title = "T"\nbody = "B"\npurposes = ["train_ai_system"]\n')
    result = mk(ready, "consent", "notice", "publish", "--file", str(bad))
    assert result.returncode == 1 and "lacks the field 'artifact_kinds'" in result.stderr
    bad.write_text('title = "T"\nbody = \npurposes = [')
    assert (
        "cannot read notice file"
        in mk(ready, "consent", "notice", "publish", "--file", str(bad)).stderr
    )


def test_oversized_or_unknown_notice_values_are_refused(ready: Path, tmp_path: Path) -> None:
    head = 'title = "T"\npurposes = ["train_ai_system"]\n'
    cases = {
        'artifact_kinds = ["transcript"]\nbody = "' + "x" * 100_001 + '"': "notice body must be",
        'artifact_kinds = ["voiceprint"]\nbody = "B"': "unknown artifact kinds ['voiceprint']",
        'artifact_kinds = ["transcript"]\nbody = "B"\nretention_days = -1': "retention_days",
    }
    for tail, message in cases.items():
        notice = tmp_path / "notice.toml"
        notice.write_text(head + tail)
        result = mk(ready, "consent", "notice", "publish", "--file", str(notice))
        assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "version 1" in mk(ready, "consent", "notice", "show").stdout


def test_giving_consent_before_any_notice_exists_explains_what_to_do(tmp_path: Path) -> None:
    result = mk(tmp_path, "consent", "give", "--yes")
    assert result.returncode == 1 and "consent notice publish" in result.stderr


def test_cli_start_up_never_imports_torch() -> None:
    code = "import sys, app.cli, consent.service; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_purge_reports_what_it_purged_and_keeps_the_audit_chain_whole(ready: Path) -> None:
    purged = mk(ready, "purge")
    assert purged.returncode == 0 and purged.stdout == "purged 0 expired training candidate(s)\n"
    assert mk(ready, "audit", "verify").returncode == 0


def capture_as_local_user(data_dir: Path, said: str) -> None:
    """A summary of the local user's own words, offered for training as a command would."""
    from minutekeeper.consent.capture import Offer, capture_offer
    from minutekeeper.consent.domain import ArtifactKind, DataClass, Role
    from minutekeeper.consent.redaction import Redactor
    from minutekeeper.consent.service import ConsentService

    settings = Settings(data_dir=data_dir, local_user="alice")
    engine = create_db_engine(settings)
    service = ConsentService.from_settings(engine, settings)
    alice = service.local_principal(tenant_name=settings.local_tenant, user_name="alice",
                                    role=Role.MEMBER)  # fmt: skip
    offer = Offer(
        kind=ArtifactKind.MEETING_SUMMARY, data_class=DataClass.DERIVED_CONTENT,
        task="meeting_summary", input={"transcript": said}, output={"summary": "Friday."},
        contributors=(alice.subject_id,),
        messages=({"role": "user", "content": said}, {"role": "assistant", "content": "Friday."}),
    )  # fmt: skip
    done = capture_offer(service, Redactor(), alice.tenant_id, offer)
    engine.dispose()
    assert done.candidate_id is not None, done.excluded


def test_export_create_show_withdraw_tombstones_supersede_and_erase(ready: Path) -> None:
    assert mk(ready, "consent", "give", "--yes").returncode == 0
    capture_as_local_user(ready, "alice: the launch code is Zanzibar-7731.")
    created = mk(ready, "export", "create")
    assert created.returncode == 0, created.stderr
    assert "export v1" in created.stdout and ": active" in created.stdout
    assert "records: 1 of 1 candidates" in created.stdout
    assert "v1" in mk(ready, "export", "list").stdout
    shown = json.loads(mk(ready, "export", "show", "1", "--json").stdout)
    folder = Path(shown["path"])
    assert "Zanzibar-7731" in (folder / "openai.jsonl").read_text()

    assert mk(ready, "consent", "withdraw").returncode == 0
    assert json.loads(mk(ready, "export", "show", "1", "--json").stdout)["status"] == "revoked"
    [tombstone] = mk(ready, "export", "tombstones", "1").stdout.splitlines()
    assert json.loads(tombstone)["reason"] == "withdrawn"
    replacement = mk(ready, "export", "create", "--supersedes", "1")
    assert "records: 0 of 1 candidates" in replacement.stdout
    assert f"supersedes: {shown['id']}" in replacement.stdout

    unknown = mk(ready, "export", "show", "nope")
    assert unknown.returncode == 1 and "no export matches 'nope'" in unknown.stderr
    (alice,) = [line.split()[-1] for line in mk(ready, "members", "list", "--ids").stdout
                .splitlines() if line.startswith("alice ")]  # fmt: skip
    kept = mk(ready, "erase", alice[:8], stdin="n\n")  # asked by name, though typed by id
    assert kept.returncode == 1 and f"Erase alice ({alice}) everywhere?" in kept.stdout
    erased = mk(ready, "erase", "alice", "--yes")
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith(f"erased alice ({alice}): ")
    assert "1 training candidate(s)" in erased.stdout
    assert mk(ready, "audit", "verify").returncode == 0
    for stored in ready.glob("minutekeeper.db*"):  # the database and its write-ahead log
        assert b"Zanzibar-7731" not in stored.read_bytes(), stored.name


def test_candidates_reredact_brings_old_candidates_to_the_current_redaction(ready: Path) -> None:
    from minutekeeper.consent.domain import SubjectKind
    from minutekeeper.consent.service import ConsentService
    from minutekeeper.consent.store import TrainingCandidateRecord

    assert mk(ready, "consent", "give", "--yes").returncode == 0
    capture_as_local_user(ready, "the launch is Friday.")
    leaky = "Eve from HR wants it; mail dana@initech.example."  # as the old release kept it
    settings = Settings(data_dir=ready)
    engine = create_db_engine(settings)
    tc = TrainingCandidateRecord
    with read_transaction(engine) as conn:
        tenant_id = conn.execute(select(tc.tenant_id)).scalar_one()
    service = ConsentService.from_settings(engine, settings)
    service.add_subject(tenant_id, kind=SubjectKind.MEMBER, display_name="Eve")
    with engine.begin() as conn:
        old = [{"role": "user", "content": leaky}, {"role": "assistant", "content": "Friday."}]
        conn.execute(update(tc).values(redaction_profile="presidio-offline-v1", messages=old))
    done = mk(ready, "candidates", "reredact")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "re-redacted: 1 rewritten, 0 unchanged, 0 excluded; 0 export(s) got tombstones\n"
    )
    with read_transaction(engine) as conn:
        [row] = conn.execute(select(tc.messages, tc.redaction_profile)).all()
    engine.dispose()
    assert row.messages[0]["content"] == "<PERSON> from HR wants it; mail <EMAIL>."
    assert row.redaction_profile == "presidio-spacy-sm-v3"
    again = mk(ready, "candidates", "reredact")
    assert "0 rewritten, 0 unchanged, 0 excluded" in again.stdout


def test_an_admin_translates_the_notice_and_the_owner_reads_and_gives_in_it(
    ready: Path, tmp_path: Path
) -> None:
    german = tmp_path / "de.toml"
    german.write_text('language = "de"\ntitle = "Ihre Inhalte"\nbody = "Wir behalten Beispiele."\n')
    made = mk(ready, "consent", "notice", "translate", str(german))
    assert made.returncode == 0 and "version 1 in de: published" in made.stdout, made.stderr
    assert "unchanged" in mk(ready, "consent", "notice", "translate", str(german)).stdout
    german.write_text('language = "de"\ntitle = "Ihre Inhalte"\nbody = "Anders."\n')
    changed = mk(ready, "consent", "notice", "translate", str(german))
    assert changed.returncode == 1 and "never changed" in changed.stderr
    assert "Ihre Inhalte" in mk(ready, "consent", "notice", "show", "--language", "de").stdout
    given = mk(ready, "consent", "give", "--yes", "--language", "de")
    assert given.returncode == 0 and "Wir behalten Beispiele." in given.stdout, given.stderr
    assert "(notice read in de)" in mk(ready, "consent", "history").stdout
    assert mk(ready, "audit", "verify").returncode == 0
