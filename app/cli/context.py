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


# Why the gate kept no training example, as a person reads it (its code stays beside).
REASON_WORDS = {
    "NO_CONSENT": "someone in it has not agreed",
    "TENANT_AI_OFF": "the AI features were off at its time",
    "TENANT_SHARING_OFF": "training sharing was off at its time",
    "TENANT_VENDOR_SHARING_OFF": "sharing with vendors is off",
    "REFUSED": "someone in it refused",
    "WITHDRAWN": "someone in it withdrew their consent",
    "EXPIRED": "someone's consent has expired",
    "INVALIDATED": "the notice changed since someone agreed",
    "NOTICE_VERSION_MISMATCH": "someone agreed to an older notice",
    "NOTICE_SCOPE_MISMATCH": "the notice someone agreed to does not cover it",
    "CONSENT_AFTER_CAPTURE": "someone agreed only after its time",
    "NON_CONSENTING_CONTRIBUTOR": "not everyone in it has agreed",
    "NO_CONTRIBUTORS": "it names nobody whose words it holds",
    "UNKNOWN_SPEAKER": "a speaker in it has no name",
    "UNKNOWN_SUBJECT": "someone in it is not known here",
    "GUEST": "a guest is in it, and guests never count as agreeing",
    "FOREIGN_SUBJECT": "someone in it belongs to another tenant",
    "SUBJECT_ERASED": "someone in it was erased",
    "UNVERIFIED": "words named as a member's are not confirmed by them yet",
    "REDACTION_FAILED": "redacting it failed",
    "source_deleted": "what it was made from was deleted",
}


def report_offers(cli: CliState, tenant_id: str, outcomes: Sequence[Outcome]) -> None:
    """Say on stderr what the consent gate kept for training, and why not the rest. While
    the tenant's training sharing is off nothing is kept, and nothing is said."""
    if not outcomes or not cli.service().tenant(tenant_id).training_sharing_enabled:
        return
    for outcome in outcomes:
        typer.echo(training_line(outcome), err=True)


def training_line(outcome: Outcome) -> str:
    """`training: chat_draft kept`, or why not, in words and then the gate's codes."""
    if outcome.error is not None:
        return f"warning: training capture failed ({outcome.error})"
    if outcome.kept:
        return f"training: {outcome.kind} kept"
    words = "; ".join(REASON_WORDS.get(code, code) for code in outcome.reasons)
    return f"training: {outcome.kind} not kept: {words} ({', '.join(outcome.reasons)})"


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    assert isinstance(root.obj, CliState)
    return root.obj
