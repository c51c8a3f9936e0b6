"""Shared fixtures: a fresh database per test on SQLite and on the local PostgreSQL.

PostgreSQL comes from MINUTEKEEPER_TEST_PG_URL (default: the local `test` database). Each
test gets its own schema there, dropped afterwards. Without a reachable PostgreSQL the
PostgreSQL cases skip with the reason, except under CI=true, where they fail: CI must not
go green on SQLite alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from minutekeeper.consent.domain import ConsentState, Principal, Role, SubjectKind
from minutekeeper.consent.notices import load_notice_file
from minutekeeper.consent.redaction import Redactor
from minutekeeper.consent.service import ConsentService
from minutekeeper.core.db import create_db_engine, migrate
from minutekeeper.core.settings import Settings

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]
# Where this test process keeps the models its console-script runs prepare (set below).
_SHARED_MODELS = "MK_TESTS_SHARED_MODEL_CACHE"


@pytest.fixture(scope="session", autouse=True)
def shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache per test process for console-script runs (`cli_env`): each data
    folder would otherwise convert the embedder or a tiny model again, seconds each time.
    The conversion stays tested where it is the subject, with a cache of its own."""
    path = tmp_path_factory.mktemp("shared-models")
    os.environ[_SHARED_MODELS] = str(path)
    return path


def cli_env(*, shared_models: bool = True) -> dict[str, str]:
    """The environment for a console-script run: none of this shell's MINUTEKEEPER_
    settings, and the test process's shared model cache unless `shared_models` is False."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINUTEKEEPER_")}
    if shared_models and _SHARED_MODELS in os.environ:
        env["MINUTEKEEPER_MODEL_CACHE_DIR"] = os.environ[_SHARED_MODELS]
    return env


def pg_base_url() -> str:
    return os.environ.get("MINUTEKEEPER_TEST_PG_URL", DEFAULT_PG_URL)


def _pg_unavailable_reason() -> str | None:
    try:
        engine = create_engine(pg_base_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        shown = make_url(pg_base_url()).render_as_string()
        return f"PostgreSQL at {shown} is unreachable: {str(error).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def _pg_checked() -> None:
    reason = _pg_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def _pg_schema_url(schema: str) -> str:
    url = make_url(pg_base_url())
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL to a fresh PostgreSQL schema, dropped afterwards."""
    schema = f"mk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_base_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'minutekeeper.db'}"
        return
    request.getfixturevalue("_pg_checked")
    with pg_schema() as url:
        yield url


@dataclass
class Clock:
    """A clock tests move by hand; every reading is 1 ms after the last, so order is strict."""

    now: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    """One redactor per test process: loading and checking its model takes seconds."""
    redactor = Redactor()
    redactor.prepare()
    return redactor


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, checkpoint_every=5)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(engine: Engine, settings: Settings, clock: Clock) -> ConsentService:
    svc = ConsentService.from_settings(engine, settings)
    svc.clock = svc.writer.clock = clock
    return svc


@dataclass
class World:
    """One tenant with training sharing on, the shipped notice published, and helpers."""

    service: ConsentService
    admin: Principal

    @property
    def tenant_id(self) -> str:
        return self.admin.tenant_id

    def member(self, name: str) -> Principal:
        subject = self.service.add_subject(
            self.tenant_id, kind=SubjectKind.MEMBER, display_name=name
        )
        return Principal(self.tenant_id, subject.id, Role.MEMBER)

    def other(self, kind: SubjectKind, name: str | None = None) -> str:
        return self.service.add_subject(self.tenant_id, kind=kind, display_name=name).id

    def give(self, person: Principal, **kwargs: Any) -> int:
        version = self.service.current_notice(self.tenant_id)
        self.service.serve_notice(person, version, surface="web")
        event = self.service.record(
            person,
            ConsentState.GIVEN,
            notice_version_id=version.id,
            **kwargs,
            via="test",
        )
        return event.seq

    def publish(self, **changes: Any) -> None:
        """Publish the shipped notice with `changes` (a new version unless nothing changed)."""
        self.service.publish_notice(self.admin, replace(load_notice_file(None), **changes))


def make_world(service: ConsentService, name: str = "acme") -> World:
    admin_subject = service.local_principal(tenant_name=name, user_name="admin", role=Role.ADMIN)
    world = World(service, admin_subject)
    service.set_switches(admin_subject, training_sharing_enabled=True)
    service.publish_notice(admin_subject, load_notice_file(None))
    return world


@pytest.fixture
def world(service: ConsentService) -> World:
    return make_world(service)
