"""Benchmark of the consent gate on SQLite and PostgreSQL (a benchmark, not a test).

What it measures, per backend:

1. Ledger append rate: consent events per second appended one at a time through the real
   product path `ConsentService.record` (one write transaction each, notice check, hash
   chain link, projection upsert, a signed checkpoint every `checkpoint_every` entries and
   at every withdrawal, which also looks for published records to tombstone); gives and
   withdrawals alternate in blocks. Target: >= 2,000 events/s on SQLite.
2. Decision latency: p50/p95/p99 of `ConsentService.decide(..., store=False)` (one
   read transaction per decision) for an artifact with 50 contributors, over a ledger of
   `--events` consent events (default 1,000,000) spread over 20,000 subjects. Target:
   p99 <= 2 ms. Also the p50/p99 of a stored decision (`store=True`: decision row plus an
   audit-chain entry) over fewer samples.

The large ledger is bulk-inserted as valid hash-chained rows (`compute_entry_hash`), then
the current-consent projection is rebuilt from it; `--verify` walks the chains afterwards.
PostgreSQL runs in a dedicated schema (`bench_gate`) of the given database, dropped before
and after, so nothing else in that database is touched.

    .venv/bin/python scripts/bench_gate.py [--events N] [--decisions N] [--appends N]
        [--skip-pg] [--pg-url URL] [--verify] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import math
import pstats
import random
import resource
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from time import perf_counter

from sqlalchemy import Engine, and_, bindparam, exc, insert, select, text
from sqlalchemy.engine.url import make_url

from minutekeeper.consent import gate, ledger
from minutekeeper.consent.chain import GENESIS_HASH, compute_entry_hash
from minutekeeper.consent.domain import (
    ArtifactKind,
    ConsentState,
    DataClass,
    Principal,
    Result,
    Role,
    SubjectKind,
)
from minutekeeper.consent.notices import load_notice_file
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import ConsentEventRecord, CurrentConsentRecord, SubjectRecord
from minutekeeper.core.db import (
    create_db_engine,
    migrate,
    read_transaction,
    utcnow,
    write_transaction,
)
from minutekeeper.core.settings import Settings

APPEND_TARGET_PER_S = 2_000.0
DECIDE_P99_TARGET_MS = 2.0
SUBJECTS = 20_000
CONTRIBUTORS = 50
BATCH = 20_000
STORED_SAMPLES = 300
APPEND_SUBJECTS = 100
WARMUP = 20
PG_SCHEMA = "bench_gate"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# State mix of the bulk ledger: mostly consenting, some opt-outs.
STATES = (ConsentState.GIVEN, ConsentState.RENEWED, ConsentState.WITHDRAWN, ConsentState.REFUSED)
STATE_WEIGHTS = (60, 25, 10, 5)


@dataclass
class Figures:
    backend: str
    events: int = 0
    load_s: float = 0.0
    append_per_s: float = 0.0
    append_ms: list[float] = field(default_factory=list)
    decide_ms: list[float] = field(default_factory=list)
    stored_ms: list[float] = field(default_factory=list)
    rss_mib: float = 0.0
    bare_append_per_s: float = 0.0
    bare_read_ms: list[float] = field(default_factory=list)
    read_ledger_ms: list[float] = field(default_factory=list)
    read_projection_ms: list[float] = field(default_factory=list)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile of `samples` (q in 0..100)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the bulk ledger -------------------------------------------------------------------


def insert_subjects(engine: Engine, tenant_id: str, count: int, created_at: datetime) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    rows = [
        {
            "id": subject_id,
            "tenant_id": tenant_id,
            "kind": SubjectKind.MEMBER.value,
            "display_name": f"bench-{i}",
            "created_at": created_at,
            "erased_at": None,
        }
        for i, subject_id in enumerate(ids)
    ]
    with write_transaction(engine) as conn:
        conn.execute(insert(SubjectRecord), rows)
    return ids


def ledger_rows(
    tenant_id: str,
    version_id: str,
    subjects: list[str],
    finals: list[str],
    *,
    count: int,
    start: datetime,
) -> Iterator[dict[str, object]]:
    """`count` chained events from seq 1; the last ones give consent for each of `finals`."""
    rng = random.Random(20261127)
    step = timedelta(days=399) / count
    prev_hash = GENESIS_HASH
    for i in range(count):
        final = i - (count - len(finals))
        if final >= 0:
            subject_id, state = finals[final], ConsentState.GIVEN
        else:
            subject_id = rng.choice(subjects)
            state = rng.choices(STATES, STATE_WEIGHTS)[0]
        recorded_at = start + step * i
        positive = state in (ConsentState.GIVEN, ConsentState.RENEWED)
        row: dict[str, object] = {
            "seq": i + 1,
            "id": str(uuid.uuid4()),
            "tenant_id": tenant_id,
            "subject_id": subject_id,
            "actor_id": subject_id,
            "actor_role": Role.MEMBER.value,
            "purpose": TRAIN_AI_SYSTEM,
            "scope": ledger.SCOPE_ALL,
            "state": state.value,
            "method": "explicit",
            "notice_version_id": version_id,
            "served_notice_id": None,
            "recorded_at": recorded_at,
            "valid_until": recorded_at + timedelta(days=730) if positive else None,
            "gpc": False,
            "idempotency_key": None,
            "prev_hash": prev_hash,
        }
        row["entry_hash"] = prev_hash = compute_entry_hash(row, prev_hash)
        yield row


def bulk_load(engine: Engine, tenant_id: str, version_id: str, events: int) -> list[str]:
    """Insert SUBJECTS subjects and `events` chained events; returns the 50 contributors."""
    with write_transaction(engine) as conn:
        if ledger.tail_seq(conn) != 0:
            raise RuntimeError("the bulk load needs an empty ledger")
    start = utcnow() - timedelta(days=400)
    subjects = insert_subjects(engine, tenant_id, SUBJECTS, start - timedelta(days=1))
    contributors = subjects[:CONTRIBUTORS]
    rows = ledger_rows(tenant_id, version_id, subjects, contributors, count=events, start=start)
    table = ConsentEventRecord.__table__
    done = 0
    while batch := list(itertools.islice(rows, BATCH)):
        with write_transaction(engine) as conn:
            conn.execute(insert(table), batch)
        done += len(batch)
        if done % 200_000 == 0:
            print(f"    ... {done:,} events inserted", flush=True)
    with write_transaction(engine) as conn:
        projected = ledger.rebuild_projection(conn)
    print(f"    projection rebuilt: {projected:,} rows", flush=True)
    return contributors


# --- the measurements ------------------------------------------------------------------


def timed_ms(call: Callable[[], object], samples: int) -> list[float]:
    for _ in range(min(WARMUP, samples)):
        call()
    times = []
    for _ in range(samples):
        started = perf_counter()
        call()
        times.append((perf_counter() - started) * 1000)
    return times


def check_allow(svc: ConsentService, tenant_id: str, artifact_id: str) -> None:
    """The benchmarked decision must be a real ALLOW with every contributor checked."""
    decision = svc.decide(tenant_id, artifact_id, store=False)
    allowed = sum(v.allowed for v in decision.contributors)
    print(
        f"    check: result={decision.result.value} contributors={len(decision.contributors)} "
        f"allowed={allowed} ledger_seq={decision.ledger_seq:,}"
    )
    assert decision.result is Result.ALLOW, decision.reasons
    assert len(decision.contributors) == CONTRIBUTORS == allowed


def bench_appends(svc: ConsentService, appends: int) -> tuple[float, list[float]]:
    """Append `appends` events via `ConsentService.record` for a fresh tenant's members."""
    admin = svc.local_principal(tenant_name="bench-append", user_name="admin", role=Role.ADMIN)
    version, _ = svc.publish_notice(admin, load_notice_file(None))
    people = []
    for i in range(APPEND_SUBJECTS):
        subject = svc.add_subject(admin.tenant_id, kind=SubjectKind.MEMBER, display_name=f"a{i}")
        person = Principal(admin.tenant_id, subject.id, Role.MEMBER)
        svc.serve_notice(person, version, surface="cli")
        people.append(person)
    times = []
    for i in range(appends):
        state = ConsentState.GIVEN if (i // APPEND_SUBJECTS) % 2 == 0 else ConsentState.WITHDRAWN
        person = people[i % APPEND_SUBJECTS]
        if state is ConsentState.GIVEN and i >= APPEND_SUBJECTS:
            # A give after a withdrawal rests on a fresh serving (not timed: it is the page
            # view before the click).
            svc.serve_notice(person, version, surface="cli")
        begun = perf_counter()
        svc.record(person, state, notice_version_id=version.id, via="script")
        times.append((perf_counter() - begun) * 1000)
    # The rate of the appends themselves: the servings between them are not counted.
    return appends / (sum(times) / 1000), times


def bench_bare(engine: Engine, samples: int) -> tuple[float, list[float]]:
    """The baseline, on the same engine: a one-row INSERT per write transaction (the same
    writer lock as an append), and a primary-key SELECT per read transaction."""
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE bench_bare (id INTEGER PRIMARY KEY, v VARCHAR(64))"))
    statement = text("INSERT INTO bench_bare (id, v) VALUES (:id, :v)")
    started = perf_counter()
    for i in range(samples):
        with write_transaction(engine) as conn:
            conn.execute(statement, {"id": i, "v": uuid.uuid4().hex})
    rate = samples / (perf_counter() - started)

    def read() -> None:
        with read_transaction(engine) as conn:
            conn.execute(text("SELECT v FROM bench_bare WHERE id = 1")).first()

    return rate, timed_ms(read, samples)


# The read the gate made before it read the ledger: the contributors' rows of the
# current-consent projection, a copy anyone with the database file could edit.
PROJECTION_READ = (
    select(
        SubjectRecord.id, SubjectRecord.tenant_id, SubjectRecord.kind, SubjectRecord.erased_at,
        CurrentConsentRecord.last_seq, CurrentConsentRecord.state,
        CurrentConsentRecord.notice_version_id, CurrentConsentRecord.recorded_at,
        CurrentConsentRecord.valid_until,
    )
    .outerjoin(CurrentConsentRecord, and_(
        CurrentConsentRecord.subject_id == SubjectRecord.id,
        CurrentConsentRecord.purpose == TRAIN_AI_SYSTEM,
    ))
    .where(SubjectRecord.id.in_(bindparam("ids", expanding=True)))
)  # fmt: skip


def bench_consent_read(
    engine: Engine, contributors: list[str], samples: int
) -> tuple[list[float], list[float]]:
    """The gate's consent read for the 50 contributors, from the ledger (as it is now) and
    from the projection (as it was), interleaved in one read transaction each, so both
    meet the same machine at the same moments."""
    params = {"ids": contributors}
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(samples):
        for which in (0, 1) if i % 2 else (1, 0):
            with read_transaction(engine) as conn:
                started = perf_counter()
                if which == 0:
                    ledger.with_newest(conn, gate._SUBJECTS, [TRAIN_AI_SYSTEM], params)
                else:
                    conn.execute(PROJECTION_READ, {"ids": contributors}).all()
                times[which].append((perf_counter() - started) * 1000)
    return times


def profile_decisions(svc: ConsentService, tenant_id: str, artifact_id: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(200):
        svc.decide(tenant_id, artifact_id, store=False)
    profiler.disable()
    print("    cProfile of 200 read-only decisions (top 20 by own time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)


# --- one backend -----------------------------------------------------------------------


def setup_tenant(svc: ConsentService) -> tuple[Principal, str]:
    admin = svc.local_principal(tenant_name="bench", user_name="admin", role=Role.ADMIN)
    svc.set_switches(admin, training_sharing_enabled=True)
    version, _ = svc.publish_notice(admin, load_notice_file(None))
    return admin, version.id


def run_backend(name: str, settings: Settings, args: argparse.Namespace) -> Figures:
    figures = Figures(name, events=args.events)
    engine = create_db_engine(settings)
    try:
        migrate(engine)
        svc = ConsentService.from_settings(engine, settings)
        admin, version_id = setup_tenant(svc)
        print(f"  bulk load: {args.events:,} events over {SUBJECTS:,} subjects", flush=True)
        started = perf_counter()
        contributors = bulk_load(engine, admin.tenant_id, version_id, args.events)
        figures.load_s = perf_counter() - started
        print(f"  bulk load took {figures.load_s:.1f} s", flush=True)
        if args.verify:
            run_verify(svc)
        measure(svc, admin.tenant_id, contributors, figures, args)
    finally:
        engine.dispose()
    figures.rss_mib = peak_rss_mib()
    return figures


def run_verify(svc: ConsentService) -> None:
    started = perf_counter()
    report = svc.verify()
    for chain in report.chains:
        print(f"    verify {chain.chain}: entries={chain.entries:,} ok={chain.ok} {chain.problem}")
    print(f"  verify took {perf_counter() - started:.1f} s", flush=True)
    assert report.ok


def measure(
    svc: ConsentService,
    tenant_id: str,
    contributors: list[str],
    figures: Figures,
    args: argparse.Namespace,
) -> None:
    artifact = svc.record_artifact(
        tenant_id,
        kind=ArtifactKind.MEETING_SUMMARY,
        data_class=DataClass.DERIVED_CONTENT,
        input={"transcript": "bench"},
        output={"summary": "bench"},
        contributors=contributors,
        # Every speaker confirmed their words, so the content's time is theirs to vouch for
        # (the common case for a kept meeting; an unvouched time reads each history).
        vouched_by=contributors,
    )
    check_allow(svc, tenant_id, artifact.id)
    print(f"  read-only decisions: {args.decisions:,}", flush=True)
    figures.decide_ms = timed_ms(
        lambda: svc.decide(tenant_id, artifact.id, store=False), args.decisions
    )
    print(f"  stored decisions: {STORED_SAMPLES}", flush=True)
    figures.stored_ms = timed_ms(lambda: svc.decide(tenant_id, artifact.id), STORED_SAMPLES)
    if args.profile:
        profile_decisions(svc, tenant_id, artifact.id)
    print(f"  appends via ConsentService.record: {args.appends:,}", flush=True)
    figures.append_per_s, figures.append_ms = bench_appends(svc, args.appends)
    print(f"  baseline: bare transactions: {args.appends:,}", flush=True)
    figures.bare_append_per_s, figures.bare_read_ms = bench_bare(svc.engine, args.appends)
    print(f"  consent reads, ledger and projection interleaved: {args.decisions:,}", flush=True)
    figures.read_ledger_ms, figures.read_projection_ms = bench_consent_read(
        svc.engine, contributors, args.decisions
    )
    report(figures)


# --- backends --------------------------------------------------------------------------


def run_sqlite(args: argparse.Namespace) -> Figures:
    with tempfile.TemporaryDirectory(prefix="bench_gate_") as tmp:
        print(f"\n== SQLite (WAL) in {tmp}", flush=True)
        return run_backend("sqlite", Settings(data_dir=Path(tmp)), args)


def run_postgres(args: argparse.Namespace) -> Figures | None:
    base = make_url(args.pg_url)
    admin_engine = create_db_engine(Settings(database_url=args.pg_url))
    schema_sql = f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"
    try:
        with admin_engine.begin() as conn:
            conn.execute(text(schema_sql))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    except (exc.OperationalError, exc.InterfaceError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        print(f"\n== PostgreSQL SKIPPED: {base.render_as_string()} unreachable: {reason}")
        admin_engine.dispose()
        return None
    print(f"\n== PostgreSQL {base.render_as_string()}, schema {PG_SCHEMA}", flush=True)
    print(f"  (dropped and recreated schema {PG_SCHEMA}; it is dropped again at the end)")
    url = base.update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"})
    try:
        with tempfile.TemporaryDirectory(prefix="bench_gate_") as tmp:
            settings = Settings(
                data_dir=Path(tmp), database_url=url.render_as_string(hide_password=False)
            )
            return run_backend("postgresql", settings, args)
    finally:
        with admin_engine.begin() as conn:
            conn.execute(text(schema_sql))
        admin_engine.dispose()
        print(f"  dropped schema {PG_SCHEMA}")


# --- reporting -------------------------------------------------------------------------


def report(f: Figures) -> None:
    rate_ratio = f.append_per_s / APPEND_TARGET_PER_S
    p99 = percentile(f.decide_ms, 99)
    verdict = "PASS" if rate_ratio >= 1 else "FAIL"
    print(
        f"  [{f.backend}] append rate {f.append_per_s:,.0f} events/s vs target "
        f"{APPEND_TARGET_PER_S:,.0f}: ratio {rate_ratio:.2f}x {verdict}"
    )
    verdict = "PASS" if p99 <= DECIDE_P99_TARGET_MS else "FAIL"
    print(
        f"  [{f.backend}] decision p99 {p99:.3f} ms vs target <= {DECIDE_P99_TARGET_MS} ms: "
        f"ratio {p99 / DECIDE_P99_TARGET_MS:.2f}x of budget {verdict}"
    )
    bare_p50 = percentile(f.bare_read_ms, 50)
    print(
        f"  [{f.backend}] against the bare baseline in this run: append "
        f"{f.append_per_s / f.bare_append_per_s:.2f}x the rate of a one-row INSERT transaction "
        f"({f.bare_append_per_s:,.0f}/s); decision p50 "
        f"{percentile(f.decide_ms, 50) / bare_p50:.1f}x a one-row SELECT transaction "
        f"({bare_p50:.3f} ms)"
    )
    if f.read_ledger_ms:
        p50 = [percentile(f.read_ledger_ms, 50), percentile(f.read_projection_ms, 50)]
        p99 = [percentile(f.read_ledger_ms, 99), percentile(f.read_projection_ms, 99)]
        print(
            f"  [{f.backend}] consent read from the ledger vs from the projection (the gate's "
            f"read before issue 21), interleaved: p50 {p50[0]:.3f} vs {p50[1]:.3f} ms, "
            f"p99 {p99[0]:.3f} vs {p99[1]:.3f} ms (p99 {p99[0] - p99[1]:+.3f} ms)"
        )


def summary(results: list[Figures]) -> None:
    head = (
        f"{'backend':<11}{'events':>11}{'load s':>8}{'append/s':>10}{'app p50':>9}"
        f"{'app p99':>9}{'dec p50':>9}{'dec p95':>9}{'dec p99':>9}{'sto p50':>9}"
        f"{'sto p99':>9}{'rss MiB':>9}"
    )
    print("\n== Summary (latencies in ms; targets: append >= 2,000/s, decision p99 <= 2 ms)")
    print(head)
    print("-" * len(head))
    for f in results:
        print(
            f"{f.backend:<11}{f.events:>11,}{f.load_s:>8.1f}{f.append_per_s:>10,.0f}"
            f"{percentile(f.append_ms, 50):>9.3f}{percentile(f.append_ms, 99):>9.3f}"
            f"{percentile(f.decide_ms, 50):>9.3f}{percentile(f.decide_ms, 95):>9.3f}"
            f"{percentile(f.decide_ms, 99):>9.3f}{percentile(f.stored_ms, 50):>9.3f}"
            f"{percentile(f.stored_ms, 99):>9.3f}{f.rss_mib:>9.0f}"
        )
    print("(rss: peak resident set of the whole process so far, after each backend)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="ledger size")
    parser.add_argument("--decisions", type=int, default=2_000, help="read-only samples")
    parser.add_argument("--appends", type=int, default=3_000, help="appends to time")
    parser.add_argument("--skip-pg", action="store_true", help="run SQLite only")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL URL")
    parser.add_argument("--verify", action="store_true", help="verify chains after load")
    parser.add_argument("--profile", action="store_true", help="cProfile 200 decisions")
    args = parser.parse_args()
    if args.events < CONTRIBUTORS or args.decisions < 1 or args.appends < 1:
        parser.error(f"--events must be >= {CONTRIBUTORS}; --decisions, --appends >= 1")
    return args


def main() -> None:
    args = parse_args()
    results = [run_sqlite(args)]
    if not args.skip_pg:
        pg = run_postgres(args)
        if pg is not None:
            results.append(pg)
    summary(results)


if __name__ == "__main__":
    main()
