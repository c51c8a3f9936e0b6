"""A running app for API tests: the real FastAPI app on a real database (SQLite or the
local PostgreSQL), two tenants, and a token for every role in each."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from minutekeeper.api import create_app
from minutekeeper.api.tokens import create_token
from minutekeeper.consent.domain import Principal, Role
from minutekeeper.consent.notices import load_notice_file
from minutekeeper.consent.service import ConsentService
from minutekeeper.core.settings import Settings
from minutekeeper.models import registry
from minutekeeper.runtime import Runtime
from tests.fakes import ScriptedGenerator

TENANTS = ("acme", "globex")
ROLES = (Role.MEMBER, Role.ADMIN, Role.ML_EXPORTER)


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    # (tenant name, role) -> token / principal; ("acme", "member2") is a second member.
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    people: dict[tuple[str, str], Principal] = field(default_factory=dict)

    def auth(self, tenant: str = "acme", role: str = "member") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[tenant, role]}"}

    def add_person(self, tenant: str, label: str, role: Role, *, name: str | None = None) -> str:
        return add_person(self.runtime.service, self.tokens, self.people, tenant, label, role,
                          name=name)  # fmt: skip


def add_person(
    service: ConsentService,
    tokens: dict[tuple[str, str], str],
    people: dict[tuple[str, str], Principal],
    tenant: str,
    label: str,
    role: Role,
    *,
    name: str | None = None,
) -> str:
    """A person of `tenant` with a day's token, filed under (tenant, label)."""
    person = service.local_principal(tenant_name=tenant, user_name=name or label, role=role)
    token, _ = create_token(service, person, name=label, valid_for=timedelta(days=1))
    tokens[tenant, label] = token
    people[tenant, label] = person
    return token


def seed(
    service: ConsentService,
    tokens: dict[tuple[str, str], str],
    people: dict[tuple[str, str], Principal],
) -> None:
    """Tenants `acme` and `globex`, each with training sharing on, the shipped notice, and
    a member, an admin and an ML exporter (`acme` has a second member, `member2`)."""
    for tenant in TENANTS:
        for role in ROLES:
            add_person(service, tokens, people, tenant, role.value, role,
                       name=f"{tenant}-{role.value}")  # fmt: skip
        admin = people[tenant, "admin"]
        service.set_switches(admin, training_sharing_enabled=True)
        service.publish_notice(admin, replace(load_notice_file(None)))
    add_person(service, tokens, people, "acme", "member2", Role.MEMBER, name="acme-member2")


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    """The app with its lifespan (job runner) running, `seed`ed."""
    runtime = Runtime.build(settings)
    api = Api(client=TestClient(create_app(runtime=runtime)), runtime=runtime)
    seed(runtime.service, api.tokens, api.people)
    with api.client:
        yield api


def finished_job(
    client: TestClient, job_id: str, headers: Mapping[str, str], *, timeout: float = 90
) -> dict[str, Any]:
    """The job once it succeeded or failed (polled as its owner)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def scripted_settings(tmp_path: Path, database_url: str, monkeypatch: Any) -> Settings:
    """Test settings whose language model is the scripted fake (its own backend name), so
    compose answers without loading a real model."""
    monkeypatch.setitem(
        registry.GENERATORS,
        "scripted",
        lambda settings, model: ScriptedGenerator("Yes, they are ready."),
    )
    return Settings(data_dir=tmp_path / "data", database_url=database_url, checkpoint_every=5,
                    llm_backend="scripted")  # fmt: skip
