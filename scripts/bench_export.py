"""Throughput and memory of the training export (`consent.exports.create_export`): every
candidate of a tenant re-decided at one ledger position and the included ones written, on
SQLite and PostgreSQL, against two baselines measured in the same run on the same data.

    .venv/bin/python scripts/bench_export.py [--candidates 1000000] [--backend both]
        [--sample 2000] [--cross-team 0.2] [--seed 7] [--keep] [--profile]

Set-up (not timed): a fresh database (a SQLite file in a temporary folder, or a fresh
schema of the PostgreSQL at MINUTEKEEPER_TEST_PG_URL, default the local `test` database),
migrated; one tenant with training sharing on and the shipped notice published; 300 members,
most of whom consent through `ConsentService` (so the ledger, the projection and the audit
chain are real), 5 % never do, and 10 % withdraw once everything is captured (through the
service, which tombstones their candidates, as in the product); a few guests. Then N
candidates with their artifacts, capture decisions and contributor rows are bulk-inserted
(capture itself, with Presidio redaction, is not what is measured): half meeting summaries,
a third chat drafts, the rest transcripts (mostly segment examples whose artifact also
names a speaker who was dropped); 2-4 contributors who consented before the capture, from
one team of about 8 (from anywhere in the organisation for --cross-team of them), and in
3 % of them a member who never consented or a guest; three messages of 300-600 characters;
captured over twelve weeks, in capture order; kept for the notice's 365 days.

Measured, each in a child process of its own so that its peak RSS is its own (VmHWM: the
child's `ru_maxrss` would include the parent's peak, which Linux carries over fork and exec):

- floor: the export's query over the same rows, streamed in batches, values as the driver
  gives them, the JSON decoded (orjson), nothing else;
- per-artifact: `gate.decide` for each of a random sample of candidates (--sample), as the
  export would run without `BulkDecider` (status, expiry and message checks first, so a
  tombstoned candidate costs nothing), extrapolated to a rate; files are not written;
- export: `create_export`, end to end (sweep, build, re-check, publish).

Examples/s counts candidates re-decided per second (included/s is shown too). Targets, on
SQLite: >= 20,000 candidates/s and a peak RSS of at most 500 MB (10^6 bytes). Checked, and a
failure exits non-zero: included + excluded == N; the counts by reason and by task equal
what the set-up expects (a withdrawn member's candidates are tombstoned, a never-consenting
member's or a guest's excluded); on the sample, `gate.decide` and the published records
agree with the expectation. The temporary folder and schema are removed unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import (
    Connection,
    Engine,
    String,
    Text,
    cast,
    create_engine,
    func,
    select,
    text,
    type_coerce,
)
from sqlalchemy.engine import make_url

from minutekeeper.consent import gate
from minutekeeper.consent.capture import TRANSCRIPT_ASK, TRANSCRIPT_SYSTEM
from minutekeeper.consent.domain import UNKNOWN_SPEAKER, ConsentState, Principal, Role, SubjectKind
from minutekeeper.consent.exports.create import ExportHooks, create_export
from minutekeeper.consent.exports.dataset import valid_messages
from minutekeeper.consent.ledger import tail_seq
from minutekeeper.consent.notices import load_notice_file
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM
from minutekeeper.consent.redaction import PROFILE
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import (
    ArtifactRecord,
    CandidateContributorRecord,
    ExportedExampleRecord,
    GateDecisionRecord,
    TrainingCandidateRecord,
)
from minutekeeper.core.db import (
    create_db_engine,
    is_sqlite,
    migrate,
    read_transaction,
    row_transaction,
)
from minutekeeper.core.settings import Settings

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_RATE = 20_000  # candidates per second, SQLite
TARGET_RSS_MB = 500  # peak RSS of the export process, SQLite, 10^6 bytes
MEMBERS, GUESTS, TEAMS = 300, 12, 36  # teams of about 8 members
WITHDRAW, NEVER, ODD = 0.10, 0.05, 0.03  # shares of members; of candidates
CODE_FILES = (
    "consent/exports/create.py",
    "consent/exports/build.py",
    "consent/exports/publish.py",
    "consent/exports/dataset.py",
    "consent/redecide.py",
    "consent/gate.py",
)
CHUNK = 20_000  # candidates generated and inserted at a time
COMMIT_EVERY = 200_000  # candidates per set-up transaction (a commit rewrites index pages)
CAPTURE_DAYS = 84  # the candidates are captured over this many days after consent
SUMMARY_SYSTEM = (
    "Summarize the meeting transcript: an overview, key points, decisions, action items "
    "with owners and due dates, and open questions."
)
VOCABULARY = """
budget roadmap release customer migration deadline review sprint ticket invoice onboarding
dashboard latency rollout vendor contract hiring forecast pipeline quarter launch pricing
feedback survey backlog incident postmortem outage metrics retention churn renewal demo
design mockup prototype estimate scope risk blocker dependency handover training workshop
agenda minutes follow-up owner Tuesday Friday next week tomorrow morning afternoon we they
should could will need agreed decided proposed asked confirmed moved postponed shipped
the a an of to for with on in by from about after before and but so because if when
team legal finance support sales marketing platform mobile backend frontend data security
audit compliance policy account region partner pilot beta build test staging production
"""
WORDS = VOCABULARY.split()
FILLERS = ("<PERSON>", "<PERSON>", "<PERSON>", "<EMAIL>", "<PHONE>", "<URL>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sample", type=int, default=2000, help="candidates for gate.decide")
    parser.add_argument(
        "--cross-team",
        type=float,
        default=0.2,
        help="share of candidates whose people come from the whole organisation, not one team",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data")
    parser.add_argument(
        "--profile", action="store_true", help="run the export under cProfile (slower)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # read | gate | export
    parser.add_argument("--job", help=argparse.SUPPRESS)  # the child's job file (JSON)
    args = parser.parse_args()
    if args.candidates < 1 or not 0 <= args.cross_team <= 1:
        parser.error("--candidates must be at least 1, --cross-team between 0 and 1")
    if args.child:
        child(args.child, Path(args.job))
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results, failures = [], []
    version = code_version()
    for backend in backends:
        result = run_backend(backend, args)
        if result is not None:
            results.append(result)
            failures += [f"{backend}: {problem}" for problem in result.problems]
    if results:
        report(results, args, version, code_version())
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)


# --- one backend --------------------------------------------------------------------


@dataclass
class Expected:
    """What the export must report, worked out while the candidates are generated."""

    candidates: int = 0
    included: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    by_task: Counter[str] = field(default_factory=Counter)
    chars: int = 0  # characters of message content, all candidates
    generate_s: float = 0.0  # set-up time spent generating them (the rest is the database)
    sample: dict[str, bool] = field(default_factory=dict)  # candidate id -> included
    barred: list[str] = field(default_factory=list)  # whose words no record may hold


@dataclass
class Result:
    backend: str
    expected: Expected
    setup_s: float
    floor: dict[str, Any]
    gate: dict[str, Any]
    export: dict[str, Any]
    files_mb: float
    problems: list[str]


def run_backend(backend: str, args: argparse.Namespace) -> Result | None:
    with database(backend, keep=args.keep) as found:
        if found is None:
            return None
        url, folder = found
        settings = Settings(data_dir=folder / "data", database_url=url)
        print(f"[{backend}] set-up of {args.candidates:,} candidates in {folder} ...", flush=True)
        start = time.perf_counter()
        tenant_id, admin_id, expected = set_up(
            settings, args.candidates, args.seed, args.sample, args.cross_team
        )
        setup_s = time.perf_counter() - start
        print(f"[{backend}] set-up took {setup_s:.1f} s", flush=True)
        job = {"url": url, "data_dir": str(settings.data_dir), "tenant_id": tenant_id,
               "admin_id": admin_id, "sample": sorted(expected.sample)}  # fmt: skip
        floor = run_child("read", job, folder, backend)
        per_artifact = run_child("gate", job, folder, backend)
        export = run_child("export", {**job, "profile": args.profile}, folder, backend)
        problems = check(settings, expected, per_artifact, export)
        files_mb = sum(p.stat().st_size for p in Path(export["path"]).rglob("*") if p.is_file())
        return Result(backend, expected, setup_s, floor, per_artifact, export,
                      files_mb / 1e6, problems)  # fmt: skip


@contextmanager
def database(backend: str, *, keep: bool) -> Iterator[tuple[str, Path] | None]:
    """A temporary folder and a URL to an empty database (None: PostgreSQL is unreachable);
    both removed afterwards unless `keep`."""
    folder = Path(tempfile.mkdtemp(prefix=f"mk-bench-export-{backend}-"))
    admin: Engine | None = None
    schema = f"mk_bench_{uuid.uuid4().hex[:12]}"
    keep_asked, keep = keep, keep and backend == "sqlite"  # PostgreSQL: once it is reached
    try:
        if backend == "sqlite":
            yield f"sqlite:///{folder / 'minutekeeper.db'}", folder
            return
        base = os.environ.get("MINUTEKEEPER_TEST_PG_URL", DEFAULT_PG_URL)
        admin = create_engine(
            base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            keep = keep_asked
        except Exception as error:
            shown = make_url(base).render_as_string()
            print(f"[postgresql] skipped: {shown} is unreachable: {str(error).splitlines()[0]}")
            admin.dispose()
            admin = None
            yield None
            return
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False), folder
    finally:
        if keep:
            kept = f" and schema {schema}" if admin is not None else ""
            print(f"[{backend}] kept {folder}{kept}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        if admin is not None:
            admin.dispose()


def run_child(mode: str, job: dict[str, Any], folder: Path, backend: str) -> dict[str, Any]:
    """Run this script as `--child mode` and return what it reports."""
    job_file = folder / f"job-{mode}.json"
    job_file.write_text(json.dumps({**job, "result": str(folder / f"result-{mode}.json")}))
    print(f"[{backend}] {mode} ...", flush=True)
    command = [sys.executable, __file__, "--child", mode, "--job", str(job_file)]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise SystemExit(f"[{backend}] the {mode} child failed with exit status {done.returncode}")
    result: dict[str, Any] = json.loads((folder / f"result-{mode}.json").read_text())
    rate = result["candidates"] / result["seconds"]
    print(f"[{backend}] {mode}: {result['candidates']:,} candidates in "
          f"{result['seconds']:.2f} s = {rate:,.0f}/s, peak RSS "
          f"{result['peak_kib'] * 1024 / 1e6:.0f} MB", flush=True)  # fmt: skip
    return result


def check(
    settings: Settings, expected: Expected, per_artifact: dict[str, Any], export: dict[str, Any]
) -> list[str]:
    problems = []
    counts = export["counts"]
    excluded = sum(counts["excluded"].values())
    if counts["candidates"] != expected.candidates:
        problems.append(f"export saw {counts['candidates']} candidates, not {expected.candidates}")
    if counts["included"] + excluded != expected.candidates:
        problems.append(f"included {counts['included']} + excluded {excluded} != N")
    if counts["included"] != expected.included:
        problems.append(f"included {counts['included']}, expected {expected.included}")
    if counts["excluded"] != dict(expected.excluded):
        problems.append(f"excluded {counts['excluded']}, expected {dict(expected.excluded)}")
    if counts["by_task"] != dict(expected.by_task):
        problems.append(f"by task {counts['by_task']}, expected {dict(expected.by_task)}")
    if export["status"] != "active":
        problems.append(f"export is {export['status']}, not active")
    wrong = [c for c, ok in per_artifact["included"].items() if ok != expected.sample[c]]
    if wrong:
        problems.append(f"gate.decide disagrees with the expectation on {len(wrong)} sampled")
    engine = create_db_engine(settings)
    published: set[str] = set()
    ids = sorted(expected.sample)
    with read_transaction(engine) as conn:
        for at in range(0, len(ids), 500):
            published.update(
                conn.execute(
                    select(ExportedExampleRecord.candidate_id).where(
                        ExportedExampleRecord.export_id == export["export_id"],
                        ExportedExampleRecord.candidate_id.in_(ids[at : at + 500]),
                    )
                ).scalars()
            )
    wrong = [c for c, ok in expected.sample.items() if ok != (c in published)]
    if wrong:
        problems.append(f"the published records disagree on {len(wrong)} sampled candidates")
    er, cc = ExportedExampleRecord, CandidateContributorRecord
    with read_transaction(engine) as conn:
        barred = conn.execute(
            select(func.count())
            .select_from(er)
            .join(cc, cc.candidate_id == er.candidate_id)
            .where(er.export_id == export["export_id"], cc.subject_id.in_(expected.barred))
        ).scalar_one()
    engine.dispose()
    if barred:
        problems.append(f"{barred} published records hold the words of someone withdrawn, "
                        "never consenting or a guest")  # fmt: skip
    return problems


# --- set-up --------------------------------------------------------------------------


@dataclass
class Clock:
    """The set-up's clock: each reading 1 ms after the last, moved by hand."""

    now: datetime

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass
class People:
    consenting: list[str]  # consent given, never withdrawn
    withdrawn: list[str]  # consent given, withdrawn after the captures
    never: list[str]  # members who never consented
    guests: list[str]
    seqs: dict[str, int]  # subject -> the seq of their consent
    teams: list[list[str]]  # the members who consented before the captures, by team

    def reason(self, subject: str) -> str | None:
        """Why the export excludes a candidate holding this subject's words (None: it does
        not): a withdrawal tombstoned the candidate, or the gate denies the subject."""
        if subject in self.seqs:
            return "CANDIDATE_TOMBSTONED" if subject in self._withdrawn else None
        return self.denied(subject)

    def exclusion(self, kept: list[str]) -> str | None:
        """The reason the export counts for a candidate holding these subjects' words: the
        candidate's status first, then the first of the gate's reasons (None: included)."""
        reasons = {r for s in kept if (r := self.reason(s))}
        if "CANDIDATE_TOMBSTONED" in reasons:
            return "CANDIDATE_TOMBSTONED"
        return min(reasons) if reasons else None

    def denied(self, subject: str) -> str:
        """The gate's reason for a subject who never consented."""
        if subject == UNKNOWN_SPEAKER:
            return "UNKNOWN_SPEAKER"
        return "GUEST" if subject in self._guests else "NO_CONSENT"

    def __post_init__(self) -> None:
        self._withdrawn = set(self.withdrawn)
        self._guests = set(self.guests)


def set_up(
    settings: Settings, n: int, seed: int, sample: int, cross_team: float
) -> tuple[str, str, Expected]:
    """The tenant, its people and `n` candidates; returns (tenant id, admin id, expected)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    engine = create_db_engine(settings)
    migrate(engine)
    service = ConsentService.from_settings(engine, settings)
    clock = Clock(datetime.now(UTC) - timedelta(days=CAPTURE_DAYS + 30))
    service.clock = service.writer.clock = clock
    admin = service.local_principal(tenant_name="bench", user_name="admin", role=Role.ADMIN)
    tenant_id = admin.tenant_id
    service.set_switches(admin, training_sharing_enabled=True)
    service.publish_notice(admin, load_notice_file(None))
    notice = service.current_notice(tenant_id)
    members = [
        service.add_subject(tenant_id, kind=SubjectKind.MEMBER, display_name=f"Member {i:03d}").id
        for i in range(MEMBERS)
    ]
    guests = [
        service.add_subject(tenant_id, kind=SubjectKind.GUEST, display_name=f"Guest {i:02d}").id
        for i in range(GUESTS)
    ]
    rng.shuffle(members)
    never = members[: round(MEMBERS * NEVER)]
    withdrawn = members[len(never) : len(never) + round(MEMBERS * WITHDRAW)]
    consenting = members[len(never) + len(withdrawn) :]
    seqs = {}
    for subject in consenting + withdrawn:
        person = Principal(tenant_id, subject, Role.MEMBER)
        service.serve_notice(person, notice, surface="web")
        seqs[subject] = service.record(
            person, ConsentState.GIVEN, notice_version_id=notice.id, via="script"
        ).seq
    order = [m for m in members if m in seqs]  # who consented before the captures
    rng.shuffle(order)
    teams = [order[t::TEAMS] for t in range(TEAMS)]
    people = People(consenting, withdrawn, never, guests, seqs, teams)
    with read_transaction(engine) as conn:
        pin = tail_seq(conn)
    first = clock.now + timedelta(days=1)
    people_s = time.perf_counter() - started
    expected = bulk_insert(engine, rng, tenant_id, people, n, first, pin, sample, cross_team)
    expected.barred = withdrawn + never + guests
    if not is_sqlite(engine):
        with row_transaction(engine) as conn:  # as autovacuum would have after such a load
            conn.exec_driver_sql("ANALYZE")
    inserted = time.perf_counter()
    clock.now = first + timedelta(days=CAPTURE_DAYS + 1)
    for subject in withdrawn:  # tombstones the candidates that hold their words
        service.record(
            Principal(tenant_id, subject, Role.MEMBER), ConsentState.WITHDRAWN, via="script"
        )
    engine.dispose()
    analyze = " and ANALYZE" if not is_sqlite(engine) else ""
    print(f"  people and consent {people_s:.1f} s, candidates{analyze} "
          f"{inserted - started - people_s:.1f} s (generating them "
          f"{expected.generate_s:.1f} s), withdrawals {time.perf_counter() - inserted:.1f} s",
          flush=True)  # fmt: skip
    return tenant_id, admin.subject_id, expected


def sentences(rng: random.Random, count: int) -> list[str]:
    """Redacted-looking sentences of a meeting or a chat."""
    pool = []
    for _ in range(count):
        words = rng.choices(WORDS, k=rng.randint(5, 12))
        if rng.random() < 0.25:
            words.insert(rng.randrange(len(words)), rng.choice(FILLERS))
        pool.append(" ".join(words).capitalize() + rng.choice(".?."))
    return pool


@dataclass
class Example:
    task: str
    kind: str  # the artifact's
    example_kind: str  # whole | segments
    spoke: list[str]  # the artifact's contributors
    messages: list[dict[str, str]]
    input: Any  # the artifact's
    output: Any


def example(rng: random.Random, pool: list[str], kept: list[str], extras: list[str]) -> Example:
    """A candidate's example, in the task mix, holding the words of `kept`."""
    roll = rng.random()

    def text(low: int, high: int, prefix: str = "", sep: str = " ") -> str:
        return sep.join(prefix + s for s in rng.choices(pool, k=rng.randint(low, high)))

    if roll < 0.50:
        transcript, summary = text(2, 4, "Member: ", "\n"), text(2, 3)
        return Example(
            "meeting_summary", "meeting_summary", "whole", kept,
            _chat(SUMMARY_SYSTEM, transcript, summary),
            {"transcript": transcript}, {"summary": summary},
        )  # fmt: skip
    if roll < 0.85:
        thread, reply = text(2, 4, "<PERSON>: ", "\n"), text(1, 3)
        ask = "Write <PERSON>'s reply in a friendly tone (short)."
        return Example(
            "chat_draft", "chat_final" if rng.random() < 0.2 else "chat_draft", "whole", kept,
            _chat("You write chat messages for <PERSON>.", f"{thread}\n{ask}", reply),
            {"thread": thread, "ask": ask}, {"text": reply},
        )  # fmt: skip
    spoke = list(kept)
    segments = rng.random() < 0.7
    if segments:  # the artifact also names a speaker who did not consent, dropped at capture
        spoke.insert(rng.randrange(len(spoke) + 1), rng.choice(extras))
    turns = [(rng.randrange(len(kept)) + 1, s) for s in rng.choices(pool, k=rng.randint(3, 6))]
    return Example(
        "transcript", "transcript", "segments" if segments else "whole", spoke,
        _chat(TRANSCRIPT_SYSTEM, TRANSCRIPT_ASK, "\n".join(f"Speaker {n}: {t}" for n, t in turns)),
        {"source": "meeting.wav"}, {"segments": [t for _, t in turns]},
    )  # fmt: skip


def _chat(system: str, user: str, assistant: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]


def bulk_insert(
    engine: Engine,
    rng: random.Random,
    tenant_id: str,
    people: People,
    n: int,
    first: datetime,
    pin: int,
    sample: int,
    cross_team: float,
) -> Expected:
    """Insert `n` candidates, with their artifacts, decisions and contributor rows, in
    capture order, `COMMIT_EVERY` per transaction, straight through the driver."""
    sqlite = is_sqlite(engine)
    pool = sentences(rng, 5000)
    at_capture = people.consenting + people.withdrawn
    odd = people.never + people.guests
    extras = [*people.never, *people.guests, UNKNOWN_SPEAKER]
    span = timedelta(days=CAPTURE_DAYS) / max(n, 1)
    start = first.replace(tzinfo=None)  # naive UTC, as SQLite stores it
    sampled = set(rng.sample(range(n), min(sample, n)))
    expected = Expected(candidates=n)
    dumps = json.dumps
    later, kept_for = timedelta(milliseconds=3), timedelta(days=365)

    def stamp(at: datetime) -> Any:
        return at.isoformat(" ", "microseconds") if sqlite else at.replace(tzinfo=UTC)

    def new_id() -> str:  # a version 4 UUID, from the seeded generator
        h = f"{rng.getrandbits(128) & _UUID_MASK | _UUID_V4:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def chunk(first_index: int) -> Rows:
        artifacts, decisions, candidates, contributors = [], [], [], []
        for i in range(first_index, min(n, first_index + CHUNK)):
            captured_at = start + span * (i + rng.random())
            among = at_capture if rng.random() < cross_team else rng.choice(people.teams)
            kept = rng.sample(among, min(len(among), rng.randint(2, 4)))
            if rng.random() < ODD:
                kept[rng.randrange(len(kept))] = rng.choice(odd)
            ex = example(rng, pool, kept, extras)
            artifact_id, decision_id, candidate_id = new_id(), new_id(), new_id()
            given, made = dumps(ex.input), dumps(ex.output)
            content = f'{{"input": {given}, "output": {made}}}'
            artifacts.append((
                artifact_id, tenant_id, ex.kind, "derived_content", given, made, dumps(ex.spoke),
                "bench-model", "v1", stamp(captured_at),
                hashlib.sha256(content.encode()).hexdigest(),
            ))  # fmt: skip
            verdicts = [
                {"contributor": s, "allowed": s in people.seqs,
                 "reasons": [] if s in people.seqs else [people.denied(s)],
                 "consent_seq": people.seqs.get(s)}
                for s in ex.spoke
            ]  # fmt: skip
            partial = len(ex.spoke) > len(kept)
            decisions.append((
                decision_id, tenant_id, artifact_id, TRAIN_AI_SYSTEM,
                "partial" if partial else "allow",
                dumps(["NON_CONSENTING_CONTRIBUTOR"] if partial else []), dumps(verdicts), pin,
                gate.RULES_VERSION, stamp(captured_at + later),
            ))  # fmt: skip
            seqs = sorted(people.seqs[s] for s in kept if s in people.seqs)
            candidates.append((
                candidate_id, tenant_id, artifact_id, decision_id, ex.example_kind, ex.task,
                dumps(ex.messages), dumps(kept), PROFILE, dumps(seqs),
                stamp(captured_at), stamp(captured_at + kept_for), "eligible",
            ))  # fmt: skip
            contributors += [(candidate_id, s) for s in set(kept)]
            reason = people.exclusion(kept)
            if reason:
                expected.excluded[reason] += 1
            else:
                expected.included += 1
                expected.by_task[ex.task] += 1
            expected.chars += sum(len(m["content"]) for m in ex.messages)
            if i in sampled:
                expected.sample[candidate_id] = reason is None
        return artifacts, decisions, candidates, contributors

    for group in range(0, n, COMMIT_EVERY):
        with row_transaction(engine) as conn:
            if sqlite:
                conn.exec_driver_sql("PRAGMA cache_size=-1048576")  # 1 GiB for the index pages
            for first_index in range(group, min(n, group + COMMIT_EVERY), CHUNK):
                generating = time.perf_counter()
                artifacts, decisions, candidates, contributors = chunk(first_index)
                expected.generate_s += time.perf_counter() - generating
                load(conn, ArtifactRecord, artifacts)
                load(conn, GateDecisionRecord, decisions)
                load(conn, TrainingCandidateRecord, candidates)
                load(conn, CandidateContributorRecord, contributors)
    return expected


_UUID_MASK = ~(0xF000 << 64 | 0xC000 << 48) & (1 << 128) - 1
_UUID_V4 = 0x4000 << 64 | 0x8000 << 48


Rows = tuple[list[tuple[Any, ...]], ...]


_COLUMNS = {
    ArtifactRecord: "id tenant_id kind data_class input output contributors model_id "
    "prompt_version captured_at content_sha256",
    GateDecisionRecord: "id tenant_id artifact_id purpose result reasons contributors "
    "ledger_seq rules_version decided_at",
    TrainingCandidateRecord: "id tenant_id artifact_id decision_id example_kind task messages "
    "contributors redaction_profile consent_event_seqs captured_at expires_at status",
    CandidateContributorRecord: "candidate_id subject_id",
}


def load(conn: Connection, record: Any, rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (in `_COLUMNS` order): executemany on SQLite, COPY on PostgreSQL."""
    columns = _COLUMNS[record].split()
    table = record.__tablename__
    if is_sqlite(conn):
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return
    with (
        conn.connection.driver_connection.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


# --- the measured children -------------------------------------------------------------


_tc, _art = TrainingCandidateRecord, ArtifactRecord
# What the floor reads: the export's rows (the columns, join and order of its query), each
# value as the driver gives it, no SQLAlchemy type processing.
_CANDIDATES = (
    select(
        _tc.id, _tc.artifact_id, _art.kind, type_coerce(_art.captured_at, String),
        _tc.decision_id, _tc.example_kind, _tc.task, cast(_tc.messages, Text),
        cast(_tc.contributors, Text), _tc.redaction_profile,
        type_coerce(_tc.expires_at, String), _tc.status,
    )
    .join(_art, _art.id == _tc.artifact_id)
    .order_by(_tc.captured_at, _tc.id)
)  # fmt: skip


def peak_kib() -> int:
    """This process's peak RSS in KiB: VmHWM, the high-water mark of its own address space.

    `ru_maxrss` would do in a process started bare, but Linux carries the parent's peak
    over fork and exec into it, and the parent here has held the set-up.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def child(mode: str, job_file: Path) -> None:
    job = json.loads(job_file.read_text())
    settings = Settings(data_dir=Path(job["data_dir"]), database_url=job["url"])
    engine = create_db_engine(settings)
    result: dict[str, Any] = {"start_kib": peak_kib()}
    if mode == "read":
        result |= read_floor(engine, job["tenant_id"])
    elif mode == "gate":
        result |= decide_each(engine, job["tenant_id"], job["sample"])
    else:
        service = ConsentService.from_settings(engine, settings)
        rechecks: list[float] = []  # when each attempt's build ended and its re-check began

        def export() -> Any:
            return create_export(
                engine,
                service.writer,
                job["tenant_id"],
                requested_by=job["admin_id"],
                exports_dir=settings.resolved_export_dir(),
                hooks=ExportHooks(before_recheck=lambda: rechecks.append(time.perf_counter())),
            )

        start = time.perf_counter()
        info = profiled(export) if job["profile"] else export()
        end = time.perf_counter()
        assert info.counts is not None
        result |= {"seconds": end - start, "candidates": info.counts["candidates"],
                   "counts": info.counts, "path": info.path, "export_id": info.id,
                   "status": info.status, "attempts": len(rechecks),
                   "publish_s": end - rechecks[-1]}  # fmt: skip
    result["peak_kib"] = peak_kib()
    engine.dispose()
    Path(job["result"]).write_text(json.dumps(result))


def read_floor(engine: Engine, tenant_id: str) -> dict[str, Any]:
    """Stream the export's rows in batches, decode the JSON of each (orjson when it is
    installed, as the export uses it) and touch every decoded value; nothing else."""
    try:
        from orjson import loads
    except ImportError:
        from json import loads
    count = chars = 0
    start = time.perf_counter()
    with read_transaction(engine) as conn:
        stream = conn.execution_options(stream_results=True, yield_per=5000).execute(
            _CANDIDATES.where(_tc.tenant_id == tenant_id)
        )
        for rows in stream.partitions():
            for row in rows:
                count += 1
                messages, contributors = loads(row[7]), loads(row[8])
                chars += sum(len(m["content"]) for m in messages) + len(contributors)
    return {"seconds": time.perf_counter() - start, "candidates": count, "chars": chars}


def decide_each(engine: Engine, tenant_id: str, sample: list[str]) -> dict[str, Any]:
    """`gate.decide` per sampled candidate, with the export's cheap checks first; whether
    each is included (its own contributors allowed, no tenant switch off)."""
    rows = []
    with read_transaction(engine) as conn:
        for at in range(0, len(sample), 500):
            rows += conn.execute(
                select(_tc.id, _tc.artifact_id, _tc.status, _tc.expires_at, _tc.messages,
                       _tc.contributors).where(_tc.id.in_(sample[at : at + 500]))
            ).all()  # fmt: skip
    rng = random.Random(0)
    rng.shuffle(rows)  # no help from reading in index order
    included: dict[str, bool] = {}
    decided = 0
    start = time.perf_counter()
    with read_transaction(engine) as conn:
        pin = tail_seq(conn)
        now = datetime.now(UTC)
        for row in rows:
            if (
                row.status != "eligible"
                or row.expires_at <= now
                or not valid_messages(row.messages)
            ):
                included[row.id] = False
                continue
            decision = gate.decide(
                conn,
                tenant_id=tenant_id,
                artifact_id=row.artifact_id,
                purpose=TRAIN_AI_SYSTEM,
                decided_at=now,
                ledger_seq=pin,
            )
            decided += 1
            mine = set(row.contributors)
            included[row.id] = not any(r.startswith("TENANT_") for r in decision.reasons) and all(
                v.allowed for v in decision.contributors if v.contributor in mine
            )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "candidates": len(rows), "decided": decided, "included": included}


def profiled(run: Callable[[], Any]) -> Any:
    import cProfile
    import pstats

    profile = cProfile.Profile()
    value = profile.runcall(run)
    for order in ("cumulative", "tottime"):
        print(f"\n--- export profile, top 30 by {order} ---")
        pstats.Stats(profile, stream=sys.stdout).strip_dirs().sort_stats(order).print_stats(30)
    return value


# --- the report -----------------------------------------------------------------------


def code_version() -> str:
    """HEAD and a digest of each file the export's speed depends on (others edit them)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", *CODE_FILES],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        head, dirty = "?", ""
    digests = ", ".join(
        f"{Path(name).name} {hashlib.sha256((root / name).read_bytes()).hexdigest()[:8]}"
        for name in CODE_FILES
    )
    return f"HEAD {head}{' + uncommitted changes' if dirty else ''}: {digests}"


def report(results: list[Result], args: argparse.Namespace, before: str, after: str) -> None:
    def rate(part: dict[str, Any], key: str = "candidates") -> float:
        return float(part[key]) / part["seconds"]

    def mb(kib: int) -> float:
        return kib * 1024 / 1e6

    rows: list[tuple[str, list[str]]] = [
        ("candidates", [f"{r.expected.candidates:,}" for r in results]),
        ("included", [f"{r.export['counts']['included']:,}" for r in results]),
        ("avg example characters",
         [f"{r.expected.chars / max(r.expected.candidates, 1):.0f}" for r in results]),
        ("set-up, not timed (s)", [f"{r.setup_s:.1f}" for r in results]),
        ("FLOOR: raw read (s)", [f"{r.floor['seconds']:.2f}" for r in results]),
        ("  candidates/s", [f"{rate(r.floor):,.0f}" for r in results]),
        ("  peak RSS (MB)", [f"{mb(r.floor['peak_kib']):.0f}" for r in results]),
        ("PER-ARTIFACT: gate.decide (s)",
         [f"{r.gate['seconds']:.2f} / {r.gate['candidates']:,}" for r in results]),
        ("  candidates/s (extrapolated)", [f"{rate(r.gate):,.0f}" for r in results]),
        ("EXPORT: create_export (s)", [f"{r.export['seconds']:.2f}" for r in results]),
        ("  candidates/s", [f"{rate(r.export):,.0f}" for r in results]),
        ("  included/s", [f"{r.export['counts']['included'] / r.export['seconds']:,.0f}"
                          for r in results]),
        ("  peak RSS (MB)", [f"{mb(r.export['peak_kib']):.0f}" for r in results]),
        ("  RSS before the export (MB)", [f"{mb(r.export['start_kib']):.0f}" for r in results]),
        ("  re-check + publish (s)", [f"{r.export['publish_s']:.2f}" for r in results]),
        ("  attempts", [f"{r.export['attempts']}" for r in results]),
        ("  files written (MB)", [f"{r.files_mb:.0f}" for r in results]),
        ("export / floor", [f"x{rate(r.export) / rate(r.floor):.3f}" for r in results]),
        ("export / per-artifact", [f"x{rate(r.export) / rate(r.gate):.1f}" for r in results]),
        (f"export / target {TARGET_RATE:,}/s",
         [f"x{rate(r.export) / TARGET_RATE:.2f}" for r in results]),
        (f"peak RSS / target {TARGET_RSS_MB} MB",
         [f"x{mb(r.export['peak_kib']) / TARGET_RSS_MB:.2f}" for r in results]),
        ("targets (SQLite)", [verdict(r, rate(r.export), mb(r.export["peak_kib"]))
                              for r in results]),
        ("correctness", ["ok" if not r.problems else "FAILED" for r in results]),
    ]  # fmt: skip
    width = max(len(label) for label, _ in rows)
    print(f"\ntraining export benchmark, seed {args.seed}, cross-team {args.cross_team}"
          f"{', export PROFILED (timings inflated)' if args.profile else ''}")  # fmt: skip
    print(f"code: {before}")
    if after != before:
        print(f"  CHANGED during the run, at the end: {after}")
    print(f"{'':<{width}}  " + "  ".join(f"{r.backend:>16}" for r in results))
    for label, values in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{v:>16}" for v in values))
    for r in results:
        excluded = ", ".join(
            f"{k} {v:,}" for k, v in sorted(r.export["counts"]["excluded"].items())
        )
        tasks = ", ".join(f"{k} {v:,}" for k, v in sorted(r.export["counts"]["by_task"].items()))
        print(f"{r.backend}: excluded: {excluded}; included by task: {tasks}")


def verdict(result: Result, rate: float, peak_mb: float) -> str:
    if result.backend != "sqlite":
        return "(reported only)"
    misses = [what for what, ok in (("rate", rate >= TARGET_RATE),
                                    ("RSS", peak_mb <= TARGET_RSS_MB)) if not ok]  # fmt: skip
    return "meets both" if not misses else "MISSES " + " and ".join(misses)


if __name__ == "__main__":
    main()
