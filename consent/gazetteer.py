"""People's names as written in many countries, from Faker's person providers (MIT).

The redactor's dictionary (the model's WordNet index) lists many given names as words:
WordNet has entries for Basil, Jasper, Iris, Nancy and Morgan, so the rule
"a proper noun that is no English word is a name" kept them. Faker's person providers
list the given and family names of about ninety locales (`en_GB`, `en_IN`, `ig_NG`,
`tw_GH`, `zh_CN`'s romanised names, ...); their Latin-script entries are read here, once,
as plain lowercase words (`consent.people` decides what they are worth).

A single locale's list holds odd entries (the `en` list has "Council", "Lawyer" and
"Sunday"), so a given name that is also an English word counts only where two locales or
more list it (`shared`): independent lists agreeing is the evidence it is a name.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from minutekeeper.consent.errors import RedactionFailed

PROVIDERS = "faker.providers.person"


@dataclass(frozen=True)
class Gazetteer:
    """Plain lowercase names ("jose" for "José"), Latin script, one word each."""

    given: frozenset[str]
    family: frozenset[str]
    shared: frozenset[str]  # given names two locales or more list


def plain(word: str) -> str:
    """A word lowercase without its accents, as a dictionary spells it ("café": cafe)."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if c.isascii())


@cache
def load_gazetteer() -> Gazetteer:
    """Every locale's names, once per process (a fifth of a second)."""
    try:
        package = importlib.import_module(PROVIDERS)
        modules = [
            importlib.import_module(f"{PROVIDERS}.{info.name}")
            for info in pkgutil.iter_modules(package.__path__)
        ]
    except ImportError as error:
        raise RedactionFailed(f"redaction needs Faker's name lists: {error}") from error
    given, family, locales = set[str](), set[str](), Counter[str]()
    for module in modules:
        provider = getattr(module, "Provider", None)
        mine = set[str]()
        for attribute, names in _name_lists(provider):
            words = {w for w in map(_word, names) if w}
            (family if "last" in attribute else mine).update(words)
        given |= mine
        locales.update(mine)
    if not given or not family:
        raise RedactionFailed(f"{PROVIDERS} holds no name lists")
    shared = frozenset(name for name, count in locales.items() if count > 1)
    return Gazetteer(frozenset(given), frozenset(family), shared)


def _name_lists(provider: Any) -> Iterable[tuple[str, Iterable[object]]]:
    """The provider's lists of given (`first_*`, `middle_*`) and family (`last_*`) names."""
    for attribute in dir(provider):
        if not attribute.startswith(("first_name", "first_romanized", "middle_name", "last_")):
            continue
        names = getattr(provider, attribute)
        if isinstance(names, (tuple, list, dict)) and "pairs" not in attribute:
            yield attribute, names


def _word(name: object) -> str | None:
    """A name as one plain word of Latin letters, or None (two words, another script)."""
    if not isinstance(name, str):
        return None
    word = plain(name)
    latin = all(unicodedata.name(c, "").startswith("LATIN") for c in name if c.isalpha())
    return word if latin and len(word) > 1 and word.isalpha() else None
