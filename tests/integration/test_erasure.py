"""Erasure reaches every copy (rule 13): after `minutekeeper erase Carol` no file under the
data folder and no row of any table holds her words: not the exports' data files (published
or revoked), the uploaded subtitles, a stored idempotent answer or a job message; and her
token no longer signs anyone in."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, select, update

from minutekeeper.core.db import read_transaction, write_transaction
from minutekeeper.core.settings import Settings
from minutekeeper.jobs.store import JobRecord
from tests.integration.api_support import Api, scripted_settings
from tests.integration.test_api_exports import build_export, consenting_meeting
from tests.integration.test_consent_attacks import mk_on
from tests.integration.test_evidence import export_path

# Carol's words in examples/meeting.vtt, and a message of hers a job kept.
CANARIES = (
    "customers complained about speaker labels the most",
    "I would rather ship offline mode on time",
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return scripted_settings(tmp_path, database_url, monkeypatch)


def files_quoting(folder: Path, canaries: tuple[str, ...] = CANARIES) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}: {c}" for c in canaries if c.encode() in data]
    return found


def rows_as_text(api: Api) -> list[tuple[str, str]]:
    """Every row of every table: (the table's name, the row's values as text)."""
    rows = []
    metadata = MetaData()
    metadata.reflect(api.runtime.engine)
    with read_transaction(api.runtime.engine) as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                text = " ".join(
                    v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row
                )
                rows.append((table.name, text))
    return rows


def rows_quoting(api: Api, canaries: tuple[str, ...] = CANARIES) -> list[str]:
    """Every row of every table, as text, that holds a canary."""
    return [f"{table}: {c}" for table, text in rows_as_text(api) for c in canaries if c in text]


def test_after_erase_no_file_and_no_row_holds_the_persons_words(
    api: Api, database_url: str
) -> None:
    consenting_meeting(api)
    alice = api.auth("acme", "Alice")
    (meeting,) = api.client.get("/v1/meetings", headers=alice).json()["items"]
    transcript = api.client.get(f"/v1/meetings/{meeting['id']}", headers=alice).json()
    bob = next(s["id"] for s in transcript["transcript"]["speakers"] if s["name"] == "Bob")
    first = build_export(api)
    # A stored answer quoting Carol: the renamed meeting, kept for a retry.
    renamed = api.client.patch(f"/v1/meetings/{meeting['id']}/speakers",
                               headers={**alice, "Idempotency-Key": "rename-1"},
                               json={"names": {bob: "Robert"}})  # fmt: skip
    assert renamed.status_code == 200 and CANARIES[0] in renamed.text
    exports = [first, build_export(api)]
    holding = [e["id"] for e in exports if CANARIES[0] in (
        Path(export_path(api, e["id"])) / "openai.jsonl").read_text()]  # fmt: skip
    assert holding
    # A job message quoting her (as a failed job's message might).
    with write_transaction(api.runtime.engine) as conn:
        conn.execute(update(JobRecord).values(error_message=f"could not parse: {CANARIES[1]}"))
    data_dir = api.runtime.settings.data_dir
    # Everything the test wrote: the data folder, and the SQLite database beside it.
    written = data_dir.parent
    assert files_quoting(written) and rows_quoting(api)  # her words are there to find

    erased = mk_on(database_url, data_dir, "admin", "erase", "Carol", "--yes",
                   env={"MINUTEKEEPER_LOCAL_TENANT": "acme"})  # fmt: skip
    assert erased.returncode == 0, erased.stderr

    assert rows_quoting(api) == []
    gone = api.client.get("/v1/consent/me", headers=api.auth("acme", "Carol"))
    assert gone.status_code == 401  # her token was revoked with her
    assert files_quoting(written) == []
    ml = api.auth("acme", "ml_exporter")
    for export_id in holding:
        folder = Path(export_path(api, export_id))
        assert sorted(p.name for p in folder.iterdir()) == [
            "README.md", "manifest.json", "tombstones.jsonl"
        ]  # fmt: skip
        shown = api.client.get(f"/v1/exports/{export_id}/tombstones", headers=ml)
        assert shown.status_code == 200
    retry = api.client.patch(f"/v1/meetings/{meeting['id']}/speakers",
                             headers={**alice, "Idempotency-Key": "rename-1"},
                             json={"names": {bob: "Robert"}})  # fmt: skip
    assert retry.status_code == 410 and retry.json()["error"]["code"] == "response_erased"
    report = api.runtime.service.verify()
    assert report.ok, report
