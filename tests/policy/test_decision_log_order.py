"""The decision log pages the same way every time, even through decisions recorded in the same microsecond.

Ordered by time alone, simultaneous decisions come in whatever order the database's plan
yields, and that plan can differ from one page's query to the next (PostgreSQL's top-N sort
does), so a decision could show on two pages or on none. The id breaks the tie: newest
recorded first, as the time is.
"""

import csv
import io

from django.urls import reverse
from django.utils import timezone

from tokens.policy.models import Decision, PolicyDecision, PolicyMode

from .conftest import make_active

API_PAGE_SIZE = 50  # REST_FRAMEWORK["PAGE_SIZE"]: a class attribute DRF reads once, so not overridable per test


def simultaneous_decisions(count, identities) -> list[int]:
    """`count` decisions all recorded at one instant, spread over the identities; their ids, newest first."""
    at = timezone.now()
    rows = PolicyDecision.objects.bulk_create(
        PolicyDecision(
            at=at, mode=PolicyMode.ENFORCE, action="issue", identity_id=identities[n % len(identities)].pk,
            request={}, decision=Decision.ALLOW, enforced=Decision.ALLOW, eval_ms=n,
        )
        for n in range(count)
    )
    assert len({row.at for row in PolicyDecision.objects.all()}) == 1
    return sorted((row.pk for row in rows), reverse=True)


def test_the_decision_log_lists_each_simultaneous_decision_once_across_pages(settings, client_for, alice, agent, make_identity):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 3}
    ids = simultaneous_decisions(8, [agent, make_active(make_identity(alice))])
    client = client_for(alice)
    listed = []
    for number in (1, 2, 3):
        page = client.get(reverse("policy:decision-list"), {"page": number})
        assert page.status_code == 200
        listed += [d.pk for d in page.context["decisions"]]
    assert listed == ids  # each once, the tie broken by the newest id


def test_the_decision_api_lists_each_simultaneous_decision_once_across_pages(client_for, alice, agent, make_identity):
    ids = simultaneous_decisions(API_PAGE_SIZE + 5, [agent, make_active(make_identity(alice))])
    client = client_for(alice)
    first = client.get(reverse("api:policydecision-list")).json()
    second = client.get(first["next"]).json()
    assert second["next"] is None
    assert [d["id"] for d in first["results"] + second["results"]] == ids


def test_the_decision_export_lists_simultaneous_decisions_newest_recorded_first(client_for, alice, agent, make_identity):
    simultaneous_decisions(8, [agent, make_active(make_identity(alice))])
    response = client_for(alice).get(reverse("policy:decision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    eval_ms = rows[0].index("eval_ms")
    # Each row's eval_ms is the order it was recorded in (the export carries no id).
    assert [float(row[eval_ms]) for row in rows[1:]] == [float(n) for n in reversed(range(8))]
