"""Give and withdraw racing from several threads and processes on one database."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select

from minutekeeper.consent.domain import ConsentState, Principal
from minutekeeper.consent.errors import NoticeNotServed
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import ConsentEventRecord, CurrentConsentRecord
from minutekeeper.core.db import create_db_engine, read_transaction
from minutekeeper.core.settings import Settings
from tests.conftest import World

ROUNDS = 8


def flip_flop(service: ConsentService, person: Principal, rounds: int) -> int:
    """Alternate give and withdraw; returns how many events were appended. A give whose
    serving another thread's withdrawal overtook is refused, and appends nothing."""
    version = service.current_notice(person.tenant_id)
    appended = 0
    for i in range(rounds):
        if i % 2 == 0:
            service.serve_notice(person, version, surface="api")
            try:
                service.record(person, ConsentState.GIVEN, notice_version_id=version.id, via="test")
            except NoticeNotServed:
                continue
        else:
            service.record(person, ConsentState.WITHDRAWN, via="test")
        appended += 1
    return appended


def _process_main(data_dir: str, url: str, person: Principal, rounds: int, appended: Any) -> None:
    settings = Settings(data_dir=Path(data_dir), database_url=url)
    engine = create_db_engine(settings)
    appended.put(flip_flop(ConsentService.from_settings(engine, settings), person, rounds))
    engine.dispose()


def assert_ledger_consistent(world: World, expected_events: int) -> None:
    with read_transaction(world.service.engine) as conn:
        events = conn.execute(select(ConsentEventRecord).order_by(ConsentEventRecord.seq)).all()
        projection = {
            row.subject_id: row for row in conn.execute(select(CurrentConsentRecord)).all()
        }
    assert [e.seq for e in events] == list(range(1, expected_events + 1))
    assert len({e.id for e in events}) == expected_events
    latest = {}
    for event in events:
        latest[event.subject_id] = event
    for subject_id, event in latest.items():
        assert projection[subject_id].last_seq == event.seq
        assert projection[subject_id].state == event.state
    assert world.service.verify().ok


def test_threads_racing_end_in_the_state_of_the_highest_sequence(world: World) -> None:
    people = [world.member(f"p{i}") for i in range(3)]
    # Two threads per person, so the same subject's give and withdraw really race.
    jobs = people + people
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        counts = list(pool.map(lambda p: flip_flop(world.service, p, ROUNDS), jobs))
    assert_ledger_consistent(world, sum(counts))


def test_processes_racing_lose_and_duplicate_nothing(
    world: World, settings: Settings, database_url: str
) -> None:
    people = [world.member(f"q{i}") for i in range(2)]
    context = multiprocessing.get_context("spawn")
    appended = context.Queue()
    processes = [
        context.Process(
            target=_process_main,
            args=(str(settings.data_dir), database_url, person, ROUNDS, appended),
        )
        for person in people + people
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert_ledger_consistent(world, sum(appended.get(timeout=10) for _ in processes))
