"""`/metrics` needs no token, so it says nothing about anyone's consent (SQLite and
PostgreSQL): by default no count of decisions by state at all (a "withdrawn" count going up
would tell whoever reads it that someone just withdrew); with
`MINUTEKEEPER_METRICS_CONSENT_COUNTS=true`, counts by state summed over every tenant."""

from __future__ import annotations

import re

from minutekeeper.core.settings import Settings
from tests.integration.api_support import Api, running_api
from tests.integration.test_api_authz import give_and_withdraw

CONSENT_SERIES = re.compile(r"^minutekeeper_consent_events\w*\{.*$", re.MULTILINE)


def test_metrics_hold_no_consent_decisions_by_default(api: Api) -> None:
    give_and_withdraw(api, "acme", "member")
    metrics = api.client.get("/metrics")
    assert metrics.status_code == 200
    assert "minutekeeper_consent_events" not in metrics.text
    assert "withdrawn" not in metrics.text and "given" not in metrics.text
    requests = 'minutekeeper_http_requests_total{method="POST",route="/v1/consent",status="201"}'
    assert f"{requests} 2.0" in metrics.text  # request metrics stay


def test_the_operator_may_ask_for_counts_by_state_over_all_tenants(settings: Settings) -> None:
    counted = settings.model_copy(update={"metrics_consent_counts": True})
    with running_api(counted) as api:
        give_and_withdraw(api, "acme", "member")
        give_and_withdraw(api, "globex", "member")
        metrics = api.client.get("/metrics").text
    totals = sorted(line for line in CONSENT_SERIES.findall(metrics) if "_total{" in line)
    assert totals == [  # one series per state, no tenant, subject or notice label
        'minutekeeper_consent_events_total{state="given"} 2.0',
        'minutekeeper_consent_events_total{state="withdrawn"} 2.0',
    ]
