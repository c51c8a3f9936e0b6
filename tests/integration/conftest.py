"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from minutekeeper.core.settings import Settings
from tests.integration.api_support import Api, running_api
from tests.integration.tampering import build_pristine


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder (SQLite) to copy and tamper with; see `tampering.build_pristine`."""
    data_dir = tmp_path_factory.mktemp("pristine")
    build_pristine(data_dir)
    return data_dir


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The real app on this test's database (SQLite and PostgreSQL): see `api_support`."""
    with running_api(settings) as running:
        yield running
