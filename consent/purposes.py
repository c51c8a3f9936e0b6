"""The purpose taxonomy and its one matching rule.

A purpose is a taxonomy key. Consent or a notice for purpose `p` covers a request for `q`
only when `q == p` or `q` is a dotted child of `p`. Keys are compared exactly: a different
case, a trailing dot or a look-alike character is an unknown purpose, never a near match.
"""

from __future__ import annotations

from minutekeeper.consent.errors import UnknownPurpose

ESSENTIAL_SERVICE = "essential.service"
TRAIN_AI_SYSTEM = "train_ai_system"
THIRD_PARTY_SHARING = "third_party_sharing"

TAXONOMY: tuple[str, ...] = (ESSENTIAL_SERVICE, TRAIN_AI_SYSTEM, THIRD_PARTY_SHARING)

# Purposes a person gives or withdraws consent for; providing the feature needs none.
CONSENT_PURPOSES: tuple[str, ...] = (TRAIN_AI_SYSTEM, THIRD_PARTY_SHARING)

# Not a purpose of consent: the ledger purpose of a person's answers to whether words
# attributed to them are theirs (`consent.attribution`).
ATTRIBUTION = "attribution"


def covers(granted: str, requested: str) -> bool:
    """True when consent (or a notice) for `granted` applies to a request for `requested`."""
    return requested == granted or requested.startswith(granted + ".")


def validate_purpose(value: str, *, allowed: tuple[str, ...] = CONSENT_PURPOSES) -> str:
    """Return `value` if it is exactly one of `allowed`, else raise `UnknownPurpose`."""
    if value in allowed:
        return value
    shown = value if len(value) <= 60 else value[:57] + "..."
    raise UnknownPurpose(f"unknown purpose {shown!r}; valid purposes: {', '.join(allowed)}")
