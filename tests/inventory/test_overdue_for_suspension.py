"""An identity past the day it was to be suspended, yet still active, is said to be overdue for
suspension (the background work has not run), never "is suspended on" a day already gone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import AIIdentity, Status

pytestmark = pytest.mark.django_db


def _active(identity, **fields):
    AIIdentity.objects.filter(pk=identity.pk).update(status=Status.ACTIVE, **fields)
    return identity


def _attestation_due(identity, days_ago: int):
    return _active(identity, attestation_due=timezone.localdate() - timedelta(days=days_ago))


def test_an_identity_past_its_lapse_day_is_overdue_for_suspension_on_its_page(client_for, alice, rita, make_identity, settings):
    grace = settings.NHI["ATTESTATION_GRACE_DAYS"]
    identity = _attestation_due(make_identity(alice), grace + 5)
    lapse_day = timezone.localdate() - timedelta(days=4)
    page = client_for(alice).get(f"/identities/{identity.pk}/").content.decode()
    assert f"overdue for suspension since {lapse_day:%Y-%m-%d}" in page and "background work that suspends it has not run" in page
    assert "the identity is suspended on" not in page
    assert 'href="/sweep/"' not in page  # an owner may not open the background work page
    assert 'href="/sweep/"' in client_for(rita).get(f"/identities/{identity.pk}/").content.decode()


def test_an_orphan_past_its_grace_is_overdue_for_suspension_on_its_page(client_for, alice, rita, make_identity, settings):
    identity = _active(make_identity(alice), orphaned_since=timezone.now() - timedelta(days=settings.NHI["ORPHAN_GRACE_DAYS"] + 3))
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    page = client_for(rita).get(f"/identities/{identity.pk}/").content.decode()
    assert "It is overdue for suspension since" in page and "Unless someone claims it, it is suspended on" not in page
    assert 'href="/sweep/"' in page


def test_the_dashboard_says_overdue_for_suspension_where_the_day_has_passed(client_for, alice, make_identity, settings):
    grace = settings.NHI["ATTESTATION_GRACE_DAYS"]
    _attestation_due(make_identity(alice, name="lapsed"), grace + 5)
    _attestation_due(make_identity(alice, name="in-grace"), 1)
    html = client_for(alice).get("/").content.decode()
    lapsed, in_grace = _dashboard_item(html, "lapsed"), _dashboard_item(html, "in-grace")
    assert "overdue for suspension" in lapsed and "unless attested" not in lapsed
    assert "overdue for suspension" not in in_grace and "unless attested" in in_grace
    assert "the background work that suspends them has not run" in html


def _dashboard_item(html: str, name: str) -> str:
    """The attestations card's list item for this identity."""
    return html[html.index(f">{name}</a>"):].split("</li>")[0]
