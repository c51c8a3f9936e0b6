"""A package's public names, imported when first used.

A package states its public API in its `__init__` as an `if TYPE_CHECKING:` block of
`from module import Name as Name` lines (what type checkers and readers see) and calls
`public_api`, which reads that block back and imports a name's module on first access. So
`import consent.domain` stays cheap (the CLI starts in a quarter second), while
`from consent import ConsentService` works and is what the rest of the project writes.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def public_api(package: str, init_file: str) -> tuple[list[str], Callable[[str], Any]]:
    """`(__all__, __getattr__)` for the package whose `__init__` is `init_file`."""
    where: dict[str, tuple[str, str]] = {}  # public name -> (module, its name there)
    for node in ast.parse(Path(init_file).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for line in node.body:
                if isinstance(line, ast.ImportFrom) and line.module:
                    for alias in line.names:
                        where[alias.asname or alias.name] = (line.module, alias.name)

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module-level hook, PEP 562)
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where[name]
        return getattr(importlib.import_module(module), attribute)

    return sorted(where), __getattr__
