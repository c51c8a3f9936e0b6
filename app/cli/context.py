"""What every command shares: the settings and, built when first needed, the `Runtime`
(database, consent service, models) that the server and the worker use too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError

from minutekeeper.consent import Principal, Role
from minutekeeper.core.errors import ConfigurationError
from minutekeeper.core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from minutekeeper.consent import ConsentService
    from minutekeeper.features.offers import Outcome
    from minutekeeper.runtime import Runtime


@dataclass
class CliState:
    data_dir: Path | None = None
    database_url: str | None = None
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self) -> Runtime:
        """The command's running parts, each built on first use (`--help` builds none)."""
        if self._runtime is None:
            from minutekeeper.runtime import Runtime

            self._runtime = Runtime(self._settings())
        return self._runtime

    def _settings(self) -> Settings:
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

    def settings(self) -> Settings:
        return self.runtime().settings

    def engine(self) -> Engine:
        """The database, migrated to the newest schema on first use."""
        return self.runtime().engine

    def service(self) -> ConsentService:
        return self.runtime().service

    def principal(self, role: Role = Role.MEMBER, *, tenant: str | None = None) -> Principal:
        """The local user (a member of the local tenant, or of `tenant`; the admin of a
        local install)."""
        settings = self.settings()
        return self.service().local_principal(
            tenant_name=tenant or settings.local_tenant, user_name=settings.local_user, role=role
        )

    def ai_user(self) -> Principal:
        """The local user, about to use an AI feature: refused (`AiFeaturesOff`) while the
        tenant's AI features are off."""
        from minutekeeper.features.guard import require_ai_features

        me = self.principal()
        require_ai_features(self.service(), me.tenant_id)
        return me

    def acting(self) -> tuple[str, bool]:
        """What the local user's claims come through, and whether they speak for themself:
        only the owner of a single-user install does (as only they record consent here)."""
        from minutekeeper.consent.errors import ConsentForOtherSubject

        try:
            self.owner()
        except ConsentForOtherSubject:
            return f"cli:{self.settings().local_user}"[:80], False
        return "local-owner", True

    def owner(self) -> Principal:
        """The local user as someone who may record consent here: only the pinned owner
        of a single-user install; anyone else records it in their own web or API session."""
        settings = self.settings()
        return self.service().local_owner(
            tenant_name=settings.local_tenant, user_name=settings.local_user, role=Role.MEMBER
        )


def report_offers(outcomes: Sequence[Outcome]) -> None:
    """Say on stderr what the consent gate kept for training, and why not the rest."""
    for outcome in outcomes:
        if outcome.error is not None:
            typer.echo(f"warning: training capture failed ({outcome.error})", err=True)
            continue
        kept = "kept" if outcome.kept else f"not kept ({', '.join(outcome.reasons)})"
        typer.echo(f"training: {outcome.kind} {kept}", err=True)


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    assert isinstance(root.obj, CliState)
    return root.obj
