"""The tenant's AI-features switch, checked before any AI feature runs.

With AI features off the tenant gets no transcripts, summaries, answers or drafts, and
nothing is kept for training: every entry point (the API, the CLI, a queued job) asks
`require_ai_features` first and answers `AiFeaturesOff` (409) until an admin turns them
on again.
"""

from __future__ import annotations

from minutekeeper.consent import ConsentService
from minutekeeper.core.errors import Conflict


class AiFeaturesOff(Conflict):
    code = "ai_features_off"


def require_ai_features(service: ConsentService, tenant_id: str) -> None:
    if not service.tenant(tenant_id).ai_features_enabled:
        raise AiFeaturesOff(
            "AI features are off for this organisation: no uploads, summaries, questions "
            "or drafts until an admin turns them on (minutekeeper consent tenant set "
            "--ai-features on)"
        )
