"""Each top-level package names its public API in its `__init__`; every name there must be
importable from the package, and none may be a submodule's name (importing the submodule
would then replace the public name with the module)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

PACKAGES = (
    "minutekeeper",
    "minutekeeper.features",
    "minutekeeper.models",
    "minutekeeper.consent",
    "minutekeeper.consent.exports",
)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_importable_and_no_submodule(name: str) -> None:
    package = importlib.import_module(name)
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert package.__all__, f"{name} names no public API"
    for public in package.__all__:
        assert public not in submodules, f"{name}.{public} is also a submodule"
        assert not isinstance(getattr(package, public), ModuleType)
    with pytest.raises(AttributeError):
        _ = package.not_a_public_name


def test_importing_a_small_module_does_not_import_its_package_api() -> None:
    # `consent.domain` is what the CLI imports at start-up; the service behind `consent`'s
    # front door pulls in the database stack, which `--help` must not pay for.
    code = (
        "import sys, minutekeeper.consent.domain, minutekeeper.features, minutekeeper.models\n"
        "print('minutekeeper.consent.service' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert loaded.stdout.strip() == "False"
