"""`minutekeeper compose` through the installed console script, on a tiny random Llama
(real CTranslate2 backend; its words are random, so its drafts fail their checks and say so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.model.test_transcribe_cli import mk
from tests.model.tiny_llm import TEMPLATE, tiny_llama

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compose-cli")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tiny_llama(tmp_path_factory.mktemp("tiny"), chat_template=TEMPLATE, context=4096)
    return str(folder)


@pytest.fixture(scope="module")
def thread(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("thread") / "thread.txt"
    path.write_text("Ann: Is the deck ready?\nBen: Dana has it.\nAnn: Dana, can you confirm?\n")
    return str(path)


def test_compose_a_reply_reports_its_checks(data_dir: Path, model: str, thread: str) -> None:
    result = mk(data_dir, "compose", "--thread", thread, "--instruction", "say it costs 300 euros",
                "--user", "Dana", "--llm", model, "--format", "json", "--n", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    draft = json.loads(result.stdout)
    assert draft["text"].strip() and draft["used_messages"] == ["m1", "m2", "m3"]
    assert len(draft["alternatives"]) <= 1
    assert draft["failed_checks"][0] == "misses: 300"  # its vocabulary has no "300"
    assert draft["verdict"] == "failed" and draft["headline"].startswith("This draft misses: 300")


def test_a_failed_draft_leads_with_what_it_misses(data_dir: Path, model: str, thread: str) -> None:
    result = mk(data_dir, "compose", "--thread", thread, "--instruction",
                "say it costs 300 euros by Thursday", "--user", "Dana", "--llm", model)  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, blank = result.stdout.splitlines()[:2]
    assert first.startswith("CHECK FAILED: This draft misses: Thursday, 300") and blank == ""
    assert "Edit it before you send it" in first and "Here is your draft" not in result.stdout


def test_followup_from_a_saved_meeting_then_feedback(data_dir: Path, model: str) -> None:
    set_sharing = ["consent", "tenant", "set", "--ai-features", "on", "--training-sharing", "on"]
    assert mk(data_dir, *set_sharing).returncode == 0
    summarized = mk(data_dir, "summarize", str(EXAMPLES / "meeting.vtt"), "--date", "2026-11-23",
                    "--format", "json", "--title", "Weekly sync")  # fmt: skip
    assert summarized.returncode == 0, summarized.stderr
    meeting_id = summarized.stderr.split("saved as meeting ")[1].split()[0]
    listed = mk(data_dir, "meetings", "list", "--json")
    assert any(
        m["id"] == meeting_id and m["title"] == "Weekly sync" for m in json.loads(listed.stdout)
    )
    shown = mk(data_dir, "meetings", "show", meeting_id[:8], "--format", "json")
    assert json.loads(shown.stdout) == json.loads(summarized.stdout)

    result = mk(data_dir, "compose", "--mode", "followup", "--meeting", meeting_id[:8], "--llm",
                model, "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    draft = json.loads(result.stdout)
    assert "s0008" in draft["used_items"]
    # the random model's drafts fail their checks, so the follow-up comes from the items
    assert draft["written_by"] == "meeting items" and draft["failed_checks"] == []
    assert "Bob (Thursday" in draft["text"] and draft["verdict"] == "from_items"
    assert "written from the meeting's decisions" in draft["headline"]
    assert draft["notes"][0].startswith("The model's best draft ")
    # Judged at the meeting's stated day, before this install's switches existed.
    assert ("training: chat_draft not kept: the AI features were off at its time; training "
            "sharing was off at its time;") in result.stderr, result.stderr  # fmt: skip
    assert "(TENANT_AI_OFF, TENANT_SHARING_OFF, " in result.stderr
    assert "warning" not in result.stderr

    sent = mk(
        data_dir, "feedback", draft["id"], "--sent", "Thanks all, notes below.", "--rating", "4"
    )
    assert sent.returncode == 0 and "rated 4/5" in sent.stdout, sent.stderr
    again = mk(
        data_dir, "feedback", draft["id"], "--sent", "Thanks all, notes below.", "--rating", "4"
    )
    assert again.returncode == 0, again.stderr  # the same feedback twice is one record
    other = mk(data_dir, "feedback", draft["id"], "--sent", "Something else.")
    assert other.returncode == 1 and "already has feedback" in other.stderr


def test_followup_from_a_summary_file(data_dir: Path, model: str, tmp_path: Path) -> None:
    summary = mk(data_dir, "summarize", str(EXAMPLES / "meeting.vtt"), "--date", "2026-11-23",
                 "--format", "json", "--no-save")  # fmt: skip
    assert "saved as meeting" not in summary.stderr
    path = tmp_path / "summary.json"
    path.write_text(summary.stdout)
    result = mk(data_dir, "compose", "--mode", "followup", "--summary", str(path), "--llm",
                model)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "minutekeeper feedback" in result.stdout
    # the follow-up says first that the meeting's items wrote it, not the model
    assert result.stdout.startswith("note: The model's drafts failed their checks, so this "
                                    "follow-up is written from the meeting's")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tone", "sarcastic"], "choose: neutral, friendly, formal, concise"),
        (["--length", "epic"], "choose: short, medium, long"),
        (["--mode", "followup"], "followup needs a meeting"),
        (["--meeting", "0123abcd", "--mode", "followup"], "no meeting '0123abcd'"),
        (["--summary", "missing.json", "--mode", "followup"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    data_dir: Path, thread: str, args: list[str], message: str
) -> None:
    result = mk(data_dir, "compose", "--thread", thread, *args)
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_thread_and_a_malformed_summary_are_named(data_dir: Path, tmp_path: Path) -> None:
    missing = mk(data_dir, "compose", "--thread", str(tmp_path / "nope.txt"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"action_items": [{"task": "x", "due": "soon", "citations": []}]}))
    result = mk(data_dir, "compose", "--mode", "followup", "--summary", str(bad))
    assert result.returncode == 1 and "action_items[0].due" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0123abcd", "--sent", "hi"], "no draft '0123abcd' of yours"),
        (["0123abcd"], "--sent TEXT or --sent-file FILE"),
        (["0123abcd", "--sent", "   "], "the sent text is empty"),
        (["0123abcd", "--sent", "hi", "--rating", "9"], "rating must be 1 to 5"),
        # The range is named first, not the missing --sent it comes with.
        (["0123abcd", "--rating", "9"], "rating must be 1 to 5, not 9"),
        (["0123abcd", "--rating", "0", "--sent", "   "], "rating must be 1 to 5, not 0"),
    ],
)
def test_bad_feedback_is_one_line_and_exit_1(data_dir: Path, args: list[str], message: str) -> None:
    result = mk(data_dir, "feedback", *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)  # six console-script runs, each loading its models (~50 s in all alone)
def test_results_are_offered_for_training_and_kept_only_with_consent(
    model: str, tmp_path: Path
) -> None:
    home = tmp_path / "data"
    rewrite = ["compose", "--mode", "rewrite", "--instruction", "pls mail ann@example.com",
               "--llm", model, "--format", "json"]  # fmt: skip
    before = mk(home, *rewrite)
    assert before.returncode == 0, before.stderr
    assert "training" not in before.stderr, before.stderr  # sharing is off: nothing is said
    for step in (["consent", "notice", "publish"],
                 ["consent", "tenant", "set", "--ai-features", "on", "--training-sharing", "on"],
                 ["consent", "give", "--purpose", "train_ai_system", "--yes"]):  # fmt: skip
        assert mk(home, *step).returncode == 0
    drafted = mk(home, *rewrite)
    assert "training: chat_draft kept" in drafted.stderr, drafted.stderr
    draft_id = json.loads(drafted.stdout)["id"]
    sent = mk(home, "feedback", draft_id, "--sent", "Please write to ann@example.com.")
    assert "training: chat_final kept" in sent.stderr, sent.stderr
    again = mk(home, "feedback", draft_id, "--sent", "Please write to ann@example.com.")
    assert again.returncode == 0 and "training:" not in again.stderr  # offered once
    meeting = mk(home, "summarize", str(EXAMPLES / "meeting.vtt"), "--format", "json")
    # Alice, Bob and Carol are no members here: guests, who never count as consenting.
    assert ("training: meeting_summary not kept: not everyone in it has agreed; a guest is "
            "in it, and guests never count as agreeing (NON_CONSENTING_CONTRIBUTOR, GUEST)"
            ) in meeting.stderr  # fmt: skip
    assert "training: transcript not kept" in meeting.stderr
