"""The CLI through its real entry point: the installed `minutekeeper` console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import create_db_engine, read_transaction
from app.core.settings import Settings
from consent.store import ConsentEventRecord

MINUTEKEEPER = str(Path(sys.executable).parent / "minutekeeper")


def mk(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTEKEEPER_")}
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
