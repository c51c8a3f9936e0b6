"""Database engine, transactions and migrations (SQLAlchemy 2, Alembic).

SQLite in WAL mode is the default; PostgreSQL is used by URL when several servers share one
ledger. Every append to a hash chain runs in `write_transaction`, which holds the database's
single writer lock for the whole transaction (SQLite `BEGIN IMMEDIATE`, a PostgreSQL
transaction-scoped advisory lock), so sequence numbers and chain links are assigned by the
database, never in Python memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Row,
    Select,
    Table,
    and_,
    create_engine,
    event,
    exc,
    or_,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from minutekeeper.core.errors import DatabaseUnavailable, InvalidInput
from minutekeeper.core.settings import Settings

# One constant key for the PostgreSQL advisory lock that serialises chain appends.
_WRITER_LOCK_KEY = 0x6D6B5F6C6564  # "mk_led"
_WRITE_OPTION = "minutekeeper_write"
_HOOKS_OPTION = "minutekeeper_commit_hooks"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every package's `*Record` tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both SQLite (stored naive) and PostgreSQL.

    Hash chains canonicalise timestamps, so a value must read back exactly as written,
    whatever the backend does with time zones.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table_of(record: type[Base]) -> Table:
    """The Core table behind a `*Record` class, typed as one."""
    table = record.__table__
    assert isinstance(table, Table)
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(settings: Settings) -> Engine:
    """Build the engine for `settings`; SQLite gets WAL, foreign keys and a busy timeout."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(
            url.render_as_string(hide_password=False), settings.database_pool_size
        )
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(url, connect_args={"connect_timeout": 5},
                             pool_size=settings.database_pool_size, max_overflow=10)  # fmt: skip
    raise DatabaseUnavailable(
        f"unsupported database URL scheme {url.drivername!r}: use sqlite:/// or postgresql://"
    )


def _sqlite_engine(url: str, pool_size: int) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=10)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control from the driver so a writer can say BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Erasure must not leave a person's words in freed pages (rule 13); some builds
        # default to this, others do not.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def describe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _unavailable_as_app_error(engine: Engine) -> Iterator[None]:
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailable(
            f"database {describe_url(engine)} is unavailable: {reason}"
        ) from error


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the single writer lock until it commits or rolls back.

    Work registered with `before_commit` runs at the end of the body, still under the lock;
    work registered with `after_commit` runs once the commit is done (never on rollback).
    """
    before: dict[str, Callable[[], None]] = {}
    after: list[Callable[[], None]] = []
    with _unavailable_as_app_error(engine), engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE_OPTION: True, _HOOKS_OPTION: (before, after)})
        with conn.begin():
            if not is_sqlite(conn):
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITER_LOCK_KEY})
            yield conn
            for hook in before.values():
                hook()
    for hook in after:
        hook()


def before_commit(conn: Connection, key: str, hook: Callable[[], None]) -> bool:
    """Run `hook` once (per `key`) at the end of this `write_transaction`, before it commits;
    False (nothing registered) on a connection that is not one."""
    hooks = conn.get_execution_options().get(_HOOKS_OPTION)
    if hooks is None:
        return False
    hooks[0].setdefault(key, hook)
    return True


def after_commit(conn: Connection, hook: Callable[[], None]) -> bool:
    """Run `hook` after this `write_transaction` commits; False (nothing registered) on a
    connection that is not one."""
    hooks = conn.get_execution_options().get(_HOOKS_OPTION)
    if hooks is None:
        return False
    hooks[1].append(hook)
    return True


@contextmanager
def row_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for ordinary rows (meetings, drafts), outside any hash chain.

    SQLite starts it with BEGIN IMMEDIATE, so it never has to upgrade a read lock mid-way
    (which fails at once when another writer holds it); PostgreSQL takes no ledger lock.
    """
    with _unavailable_as_app_error(engine), engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent snapshot of the database."""
    with _unavailable_as_app_error(engine), engine.connect() as conn:
        if not is_sqlite(conn):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def checkpoint_wal(engine: Engine, *, truncate: bool = False) -> None:
    """Fold SQLite's write-ahead log into the database now.

    After a long read (an export), the next commit would otherwise do it, and that may be a
    commit made under the writer lock: PASSIVE waits for no one. After an erasure,
    `truncate` waits for readers and empties the log file, so the old pages holding the
    erased words are gone from it too (`secure_delete` zeroes them in the database file).
    PostgreSQL keeps old row versions until VACUUM (docs/deploy.md).
    """
    if engine.dialect.name == "sqlite":
        mode = "TRUNCATE" if truncate else "PASSIVE"
        with _unavailable_as_app_error(engine), engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (safe to call on every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


MIN_PREFIX = 4  # the shortest id prefix a person may type instead of a whole id


def rows_by_id_or_prefix(
    conn: Connection, query: Select[Any], column: ColumnElement[Any], ref: str
) -> list[Row[Any]]:
    """The row whose id is `ref`, else up to two rows whose id starts with it (two mean
    the prefix is ambiguous); nothing for a prefix shorter than `MIN_PREFIX`."""
    ref = ref.strip().lower()
    if len(ref) < MIN_PREFIX:
        return []
    exact = conn.execute(query.where(column == ref)).all()
    if exact:
        return list(exact)
    return list(conn.execute(query.where(column.startswith(ref, autoescape=True)).limit(2)).all())


# A column to sort a list by, and whether it runs newest (largest) first.
SortKey = tuple[ColumnElement[Any], bool]


def rows_after(
    conn: Connection,
    query: Select[Any],
    *,
    order: Sequence[SortKey],
    id_column: ColumnElement[Any],
    after: str | int | None = None,
    limit: int | None = None,
) -> list[Row[Any]]:
    """One page of `query`'s rows in `order` (whose last key must be unique, such as the
    id): those after the row whose id is `after` (from the start without one), at most
    `limit` (all without one). Keyset paging: a row added or removed while someone pages
    through never makes another row appear twice or be skipped. An `after` that is not
    one of `query`'s rows is refused, the same way whether or not it exists elsewhere."""
    keys = [column for column, _ in order]
    if after is not None:
        anchor = conn.execute(
            query.with_only_columns(*keys, maintain_column_froms=True).where(id_column == after)
        ).first()
        if anchor is None:
            raise InvalidInput(f"the cursor {after!r} names nothing in this list")
        later = [
            and_(*(keys[j] == anchor[j] for j in range(i)),
                 keys[i] < anchor[i] if newest_first else keys[i] > anchor[i])
            for i, (_, newest_first) in enumerate(order)
        ]  # fmt: skip
        query = query.where(or_(*later))
    query = query.order_by(None).order_by(*(c.desc() if d else c.asc() for c, d in order))
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).all())
