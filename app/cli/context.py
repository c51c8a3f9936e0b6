"""What every command needs: settings, a migrated database, the consent service."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError

from app.core.errors import ConfigurationError
from app.core.settings import Settings
from consent.domain import Principal, Role

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from consent.capture import Offer
    from consent.service import ConsentService


@dataclass
class CliState:
    data_dir: Path | None = None
    database_url: str | None = None
    _service: ConsentService | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        overrides: dict[str, Any] = {}
        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        if self.database_url is not None:
            overrides["database_url"] = self.database_url
        try:
            return Settings(**overrides)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "settings"
            raise ConfigurationError(f"invalid setting {where}: {first['msg']}") from error

    def engine(self) -> Engine:
        """The database, migrated to the newest schema on first use."""
        # Imported here: the database stack costs ~0.3 s that `--help` and `transcribe` skip.
        from app.core.db import create_db_engine, migrate

        if self._engine is None:
            engine = create_db_engine(self.settings())
            migrate(engine)
            self._engine = engine
        return self._engine

    def service(self) -> ConsentService:
        from consent.service import ConsentService

        if self._service is None:
            self._service = ConsentService.from_settings(self.engine(), self.settings())
        return self._service

    def offer_for_training(self, tenant_id: str, offers: Callable[[], Sequence[Offer]]) -> None:
        """Offer results to the consent gate as training data and say on stderr what was
        kept; a failure here is reported, never allowed to cost the user their result."""
        from consent.redaction import Redactor
        from features.training import offer_all

        try:
            redactor = Redactor(self.settings().resolved_model_cache_dir())
            for done in offer_all(self.service(), redactor, tenant_id, offers()):
                kind = done.artifact.kind.value
                kept = "kept" if done.candidate_id else f"not kept ({', '.join(done.excluded)})"
                typer.echo(f"training: {kind} {kept}", err=True)
        except Exception as error:
            typer.echo(f"warning: training capture failed: {error}", err=True)

    def principal(self, role: Role = Role.MEMBER) -> Principal:
        """The local user (a member of the local tenant; the admin of a local install)."""
        settings = self.settings()
        return self.service().local_principal(
            tenant_name=settings.local_tenant, user_name=settings.local_user, role=role
        )


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    assert isinstance(root.obj, CliState)
    return root.obj
