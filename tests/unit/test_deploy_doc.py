"""docs/deploy.md names only settings that exist, and the test deployment (tests/cluster.py)
sets only settings the recipe documents."""

from __future__ import annotations

import re
from pathlib import Path

from minutekeeper.core.settings import Settings
from tests.cluster import cluster_env

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def documented() -> set[str]:
    return set(re.findall(r"MINUTEKEEPER_([A-Z0-9_]+)", DOC.read_text()))


def test_every_setting_the_recipe_names_exists() -> None:
    assert {name.lower() for name in documented()} - set(Settings.model_fields) == set()


def test_the_tested_deployment_sets_only_what_the_recipe_documents(tmp_path: Path) -> None:
    env = cluster_env(tmp_path, "postgresql+psycopg://db/x", "redis://127.0.0.1:1/0")
    used = {k.removeprefix("MINUTEKEEPER_") for k in env if k.startswith("MINUTEKEEPER_")}
    assert used - documented() == set()
