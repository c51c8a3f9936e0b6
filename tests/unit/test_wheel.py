"""The built wheel installs one top-level package, `minutekeeper`, holding every package
folder of the repository (app/ as `minutekeeper`, features/, models/ and consent/ inside
it) with all their modules and data files, and nothing else at the top level: generic
names such as `app` or `models` would collide with other projects in site-packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MAPPED = {"app": "minutekeeper", "features": "minutekeeper/features",
          "models": "minutekeeper/models", "consent": "minutekeeper/consent"}  # fmt: skip
DATA = ("*.toml", "*.html", "*.js", "*.css", "*.svg", "*.mako", "py.typed", "LICENSE", "NOTICE.md")


def source_files() -> set[str]:
    """Every module and data file the repository's package folders hold, as wheel paths."""
    wanted: set[str] = set()
    for folder, target in MAPPED.items():
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT / folder)
            if "__pycache__" in relative.parts or not path.is_file():
                continue
            if relative.parts[0] in MAPPED and folder == "app":
                continue
            if path.suffix == ".py" or any(path.match(p) for p in DATA):
                wanted.add(f"{target}/{relative.as_posix()}")
    return wanted


@pytest.mark.slow
def test_the_wheel_holds_every_package_under_one_top_level_name(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", *MAPPED):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, tree / name)  # a copy: the build writes build/ and *.egg-info
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path / "dist"), str(tree)],
                   check=True, capture_output=True)  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("minutekeeper-*.whl")
    names = {n for n in zipfile.ZipFile(wheel).namelist() if not n.endswith("/")}
    top = {n.split("/")[0] for n in names}
    assert top == {"minutekeeper", wheel.name.split("-py3")[0] + ".dist-info"}
    packaged = {n for n in names if n.startswith("minutekeeper/")}
    assert packaged == source_files()
    folders = {str(Path(n).parent) for n in packaged if n.endswith(".py")}
    assert all(f"{folder}/__init__.py" in packaged for folder in folders)
    assert {"minutekeeper/py.typed", "minutekeeper/consent/notice_texts/training.toml",
            "minutekeeper/models/notices/qwen2.5-coder-0.5b-instruct/LICENSE",
            "minutekeeper/api/templates/base.html"} <= packaged  # fmt: skip
