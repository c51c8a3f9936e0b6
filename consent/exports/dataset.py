"""The files of one export version (ARCHITECTURE.md §5), written as a stream.

`DatasetWriter` takes included records in batches and writes, side by side:

- `data/train-00000.parquet`: record_id, task, example_kind, messages[{role, content}],
  contributors (pseudonyms); one row group per batch, so memory stays flat;
- `openai.jsonl`: one `{"messages": [...]}` per line and nothing else;
- `sharegpt.json`: the conversations view (`from`: system | human | gpt);
- `records.parquet`: provenance, record -> candidate -> artifact -> consent events -> notice
  versions;
- `tombstones.jsonl`: empty at publication, rewritten from the database when a contributor
  withdraws (so it is not part of the manifest's hashes).

`manifest.json` and the `README.md` dataset card are written last, from the counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

DATA_FILE = "data/train-00000.parquet"
OPENAI_FILE = "openai.jsonl"
SHAREGPT_FILE = "sharegpt.json"
RECORDS_FILE = "records.parquet"
TOMBSTONES_FILE = "tombstones.jsonl"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


@dataclass
class Batch:
    """Included records in columns, as the Parquet files take them; `messages` holds each
    record's chat already checked by `valid_messages`."""

    record_id: list[str] = field(default_factory=list)
    candidate_id: list[str] = field(default_factory=list)
    artifact_id: list[str] = field(default_factory=list)
    artifact_kind: list[str] = field(default_factory=list)
    capture_decision_id: list[str] = field(default_factory=list)
    task: list[str] = field(default_factory=list)
    example_kind: list[str] = field(default_factory=list)
    messages: list[list[dict[str, str]]] = field(default_factory=list)
    contributors: list[list[str]] = field(default_factory=list)  # pseudonyms
    consent_events: list[list[str]] = field(default_factory=list)  # pseudonyms
    notice_version_ids: list[tuple[str, ...]] = field(default_factory=list)
    redaction_profile: list[str] = field(default_factory=list)
    captured_at: list[datetime] = field(default_factory=list)
    expires_at: list[datetime] = field(default_factory=list)
    # The candidate each record came from, by its id: the server's `export_records`, never
    # written to a file (the files name it by `candidate_id`, a pseudonym).
    kept_from: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.record_id)


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    bytes: int
    rows: int

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes, "rows": self.rows}


def valid_messages(messages: Any) -> bool:
    """A chat example as the export promises it: a non-empty list of {role, content} with
    known roles and string content, ending with the assistant."""
    if type(messages) is not list or not messages:
        return False
    for message in messages:
        if (
            type(message) is not dict
            or len(message) != 2
            or message.get("role") not in ROLES
            or type(message.get("content")) is not str
        ):
            return False
    return bool(messages[-1]["role"] == "assistant")


class DatasetWriter:
    def __init__(self, folder: Path) -> None:
        import pyarrow as pa
        import pyarrow.json as pa_json
        import pyarrow.parquet as pq

        self._pa = pa
        self.folder = folder
        (folder / "data").mkdir(parents=True, exist_ok=True)
        message = pa.struct([("role", pa.string()), ("content", pa.string())])
        self._data_schema = pa.schema(
            [
                ("record_id", pa.string()),
                ("task", pa.string()),
                ("example_kind", pa.string()),
                ("messages", pa.list_(message)),
                ("contributors", pa.list_(pa.string())),
            ]
        )
        timestamp = pa.timestamp("us", tz="UTC")
        self._records_schema = pa.schema(
            [
                ("record_id", pa.string()),
                ("candidate_id", pa.string()),
                ("artifact_id", pa.string()),
                ("artifact_kind", pa.string()),
                ("capture_decision_id", pa.string()),
                ("task", pa.string()),
                ("example_kind", pa.string()),
                ("contributors", pa.list_(pa.string())),
                ("consent_events", pa.list_(pa.string())),
                ("notice_version_ids", pa.list_(pa.string())),
                ("redaction_profile", pa.string()),
                ("captured_at", timestamp),
                ("expires_at", timestamp),
            ]
        )
        self._data = pq.ParquetWriter(folder / DATA_FILE, self._data_schema)
        self._records = pq.ParquetWriter(folder / RECORDS_FILE, self._records_schema)
        self._openai = (folder / OPENAI_FILE).open("wb")
        self._sharegpt = (folder / SHAREGPT_FILE).open("wb")
        self._sharegpt.write(b"[")
        self._pa_json = pa_json
        self._messages_options = pa_json.ParseOptions(
            explicit_schema=pa.schema([("messages", pa.list_(message))]),
            unexpected_field_behavior="error",
        )
        (folder / TOMBSTONES_FILE).write_bytes(b"")
        self.rows = 0

    def add(self, batch: Batch) -> None:
        if not len(batch):
            return
        dumps = orjson.dumps
        lines = [dumps({"messages": m}) for m in batch.messages]
        conversations = [
            dumps({"id": record_id, "conversations": [
                {"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in messages
            ]})
            for record_id, messages in zip(batch.record_id, batch.messages, strict=True)
        ]  # fmt: skip
        jsonl = b"\n".join(lines) + b"\n"
        self._openai.write(jsonl)
        self._sharegpt.write((b"," if self.rows else b"") + b"\n" + b",\n".join(conversations))
        self._write_data(batch, jsonl, longest=max(map(len, lines)))
        self._write_records(batch)
        self.rows += len(batch)

    def _write_data(self, batch: Batch, jsonl: bytes, *, longest: int) -> None:
        # Arrow's JSON reader builds the nested messages column from the very lines of
        # openai.jsonl, several times faster than converting Python dicts. A block must
        # hold the longest line (a long meeting's transcript can pass the 1 MiB default).
        blocks = self._pa_json.ReadOptions(block_size=max(1 << 20, longest + 1))
        messages = self._pa_json.read_json(
            io.BytesIO(jsonl), read_options=blocks, parse_options=self._messages_options
        ).column("messages")
        pa = self._pa
        columns = [
            pa.array(batch.record_id, pa.string()),
            pa.array(batch.task, pa.string()),
            pa.array(batch.example_kind, pa.string()),
            messages,
            pa.array(batch.contributors, pa.list_(pa.string())),
        ]
        self._data.write_table(pa.Table.from_arrays(columns, schema=self._data_schema))

    def _write_records(self, batch: Batch) -> None:
        columns = {f.name: getattr(batch, f.name) for f in self._records_schema}
        self._records.write_table(self._pa.table(columns, schema=self._records_schema))

    def close(self) -> list[FileEntry]:
        """Finish every file and return them with their sha256, size and row count."""
        self._sharegpt.write(b"\n]\n" if self.rows else b"]\n")
        for handle in (self._openai, self._sharegpt):
            handle.close()
        self._data.close()
        self._records.close()
        return [
            file_entry(self.folder, name, self.rows)
            for name in (DATA_FILE, OPENAI_FILE, SHAREGPT_FILE, RECORDS_FILE)
        ]

    def abort(self) -> None:
        """Close what is open without finishing it (the folder is about to be removed)."""
        closers = (self._openai.close, self._sharegpt.close, self._data.close, self._records.close)
        for closer in closers:
            with contextlib.suppress(Exception):  # best effort: the folder is deleted next
                closer()


def file_entry(folder: Path, name: str, rows: int) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with (folder / name).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(name, digest.hexdigest(), size, rows)


def write_json(path: Path, value: Any) -> str:
    """Write `value` as indented JSON and return the sha256 of the bytes written."""
    data = (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_tombstones(path: Path, tombstones: Sequence[Mapping[str, Any]]) -> None:
    """Replace `tombstones.jsonl` as a whole (write, then rename), one tombstone per line."""
    temporary = path.with_suffix(".jsonl.tmp")
    lines = "".join(
        json.dumps(dict(t), ensure_ascii=False, sort_keys=True) + "\n" for t in tombstones
    )
    temporary.write_text(lines, encoding="utf-8")
    temporary.replace(path)


def dataset_card(manifest: Mapping[str, Any]) -> str:
    """The README.md of an export: a Hugging Face dataset card with the consent basis."""
    counts = manifest["counts"]
    excluded = counts["excluded"]
    excluded_lines = (
        "\n".join(f"| {reason} | {n} |" for reason, n in sorted(excluded.items()))
        or "| (none) | 0 |"
    )
    tasks = ", ".join(f"{task}: {n}" for task, n in sorted(counts["by_task"].items())) or "none"
    return f"""---
pretty_name: minutekeeper training export v{manifest["version"]}
license: other
language:
- en
task_categories:
- text-generation
configs:
- config_name: default
  data_files:
  - split: train
    path: {DATA_FILE}
---

# minutekeeper training export, version {manifest["version"]}

Export `{manifest["export_id"]}` of one tenant's consented, redacted examples, built at
ledger position {manifest["ledger_seq"]} and re-checked through position
{manifest["rechecked_seq"]} (consent rules {manifest["rules_version"]}).
{f"It supersedes export `{manifest['supersedes']}`." if manifest["supersedes"] else ""}

## Consent basis

Every record was re-decided for `{manifest["purpose"]}` when this export was built: the
tenant had AI features and training sharing switched on, and **every person whose words are
in the record** had given consent, against a notice version that covered training and the
kind of record, before the record was captured, without a break since. Guests and speakers
nobody identified never count as consenting, so their words are not here. Consent events
arriving while the files were written were checked again before publication.

Who said what is **self-attested**: a name typed by someone else (an uploader, a rename, a
subtitle's voice tag, a thread's author) never counted; each person confirmed themselves
that the words attributed to them are theirs (or named themselves as the uploader), and a
person holding two speakers of one meeting counts for neither. A person could still
confirm words that are not theirs; nothing here proves a voice.

Consent can be withdrawn at any time. A withdrawal after publication adds the person's
records to `{TOMBSTONES_FILE}` and marks this export **revoked**: stop using tombstoned
records, and move to the superseding export when one is built. Every record also carries
its `expires_at` (in `{RECORDS_FILE}`): drop records past that date.

## Contents

- Records: {counts["included"]} of {counts["candidates"]} candidates ({tasks}).
- Excluded, by reason:

| reason | records |
|---|---|
{excluded_lines}

- `{DATA_FILE}`: `record_id`, `task`, `example_kind`, `messages` (`role`, `content`),
  `contributors`.
- `{OPENAI_FILE}`: one `{{"messages": [...]}}` per line (system, user, assistant; ends with
  the assistant).
- `{SHAREGPT_FILE}`: the same conversations in ShareGPT form.
- `{RECORDS_FILE}`: provenance of each record: the notice versions it rests on, and its
  candidate, artifact, capture decision and consent events as pseudonyms under this
  export's key (another export names the same ones differently; the server can map them
  back).

## Redaction and pseudonyms

People's names (the organisation's members, the meeting's speakers and guests, and anyone a
named-entity model reads as a person), email addresses, phone numbers, ID and account
numbers, URLs with paths, IP addresses and card numbers were replaced by placeholders such
as `<PERSON>` before the records were stored
({", ".join(manifest["redaction_profiles"]) or "no records"}). Redaction misses some
personal data (about one name in ten that no roster lists, in its evaluation); treat the
text as personal data all the same. Contributors appear only as HMAC-SHA256 pseudonyms
under a key that belongs to this export and stays on the server. Text only; no audio.

## Limits

Transcripts come from automatic speech recognition and carry its errors; summaries and
drafts are model output. The set reflects one organisation's meetings and chats, and only
the people who consented.
"""
