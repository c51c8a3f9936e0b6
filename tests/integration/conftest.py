"""Fixtures shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.tampering import build_pristine


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder (SQLite) to copy and tamper with; see `tampering.build_pristine`."""
    data_dir = tmp_path_factory.mktemp("pristine")
    build_pristine(data_dir)
    return data_dir
