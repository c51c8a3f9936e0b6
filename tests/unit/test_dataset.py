"""The export's files, written from records in columns: every view holds the same chats,
whatever the text contains."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from minutekeeper.consent.exports.dataset import Batch, DatasetWriter, valid_messages

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def batch_of(chats: list[list[dict[str, str]]]) -> Batch:
    batch = Batch()
    for n, messages in enumerate(chats, start=1):
        batch.record_id.append(f"r{n:09d}")
        batch.candidate_id.append(f"c{n}")
        batch.artifact_id.append(f"a{n}")
        batch.artifact_kind.append("meeting_summary")
        batch.capture_decision_id.append(f"d{n}")
        batch.task.append("meeting_summary")
        batch.example_kind.append("whole")
        batch.messages.append(messages)
        batch.contributors.append(["p1", "p2"])
        batch.consent_events.append(["e3", "e5"])
        batch.notice_version_ids.append(("n1",))
        batch.redaction_profile.append("presidio-offline-v1")
        batch.captured_at.append(AT)
        batch.expires_at.append(AT)
    return batch


def written(chats: list[list[dict[str, str]]], folder: Path) -> Path:
    writer = DatasetWriter(folder)
    writer.add(batch_of(chats))
    files = writer.close()
    assert {f.path: f.rows for f in files}["openai.jsonl"] == len(chats)
    return folder


def chat(user: str, answer: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Summarize the meeting."},
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
    ]


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.tuples(st.text(), st.text()), min_size=1, max_size=5))
def test_every_view_holds_the_same_chats_whatever_the_text(texts: list[tuple[str, str]]) -> None:
    chats = [chat(user, answer) for user, answer in texts]
    with tempfile.TemporaryDirectory() as tmp:
        folder = written(chats, Path(tmp))
        raw = (folder / "openai.jsonl").read_bytes()
        lines = raw.split(b"\n")
        assert lines[-1] == b"" and len(lines) == len(chats) + 1
        parsed = [json.loads(line) for line in lines[:-1]]
        assert all(list(p) == ["messages"] and valid_messages(p["messages"]) for p in parsed)
        assert [p["messages"] for p in parsed] == chats
        data = pq.read_table(folder / "data/train-00000.parquet").to_pylist()
        assert [r["messages"] for r in data] == chats
        shared = json.loads((folder / "sharegpt.json").read_text(encoding="utf-8"))
        assert [[t["value"] for t in c["conversations"]] for c in shared] == [
            [m["content"] for m in c] for c in chats
        ]


def test_a_chat_longer_than_arrows_json_block_is_written_whole(tmp_path: Path) -> None:
    long = "word " * 600_000  # 3 MB in one line
    folder = written([chat("short", "short"), chat(long, "done")], tmp_path)
    data = pq.read_table(folder / "data/train-00000.parquet").to_pylist()
    assert data[1]["messages"][1]["content"] == long


def test_no_records_still_make_valid_files(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path)
    writer.add(Batch())
    writer.close()
    assert (tmp_path / "openai.jsonl").read_bytes() == b""
    assert json.loads((tmp_path / "sharegpt.json").read_text()) == []
    assert pq.read_table(tmp_path / "records.parquet").num_rows == 0


def test_records_keep_the_provenance_columns(tmp_path: Path) -> None:
    folder = written([chat("a", "b")], tmp_path)
    [record] = pq.read_table(folder / "records.parquet").to_pylist()
    assert record["consent_events"] == ["e3", "e5"] and record["notice_version_ids"] == ["n1"]
    assert record["captured_at"] == AT and record["contributors"] == ["p1", "p2"]
