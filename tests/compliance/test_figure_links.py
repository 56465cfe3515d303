"""A figure on a control's page links to the list it counts, and that list shows as many rows:
an auditor who clicks a number must find the same number of things behind it."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from inventory.models import AIIdentity, Status
from nhiportal.compliance.controls import CONTROLS, assess
from tokens.exposures import exposure_dismiss, exposure_report_token
from tokens.models import Exposure, Grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo portal (orphans, overdue attestations, unused identities, old keys, grants),
    read by its compliance officer."""
    call_command("demo_data", "--identities", "24", stdout=open("/dev/null", "w"))
    return get_user_model().objects.get(username="carol")


def rows_behind(client, url) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["page_obj"].paginator.count


def linked_figures(client) -> list[tuple[str, str, str, object]]:
    """(control, figure, link, value) of every linked figure on the control pages, as shown."""
    found = []
    for a in assess():
        page = client.get(f"/compliance/controls/{a.control.id}/").content.decode()
        for name, value, link in a.result.figure_rows:
            if link:
                assert f'<a href="{link.replace("&", "&amp;")}"' in page, (a.control.number, name)
                found.append((a.control.number, name, link, value))
    return found


def test_each_linked_figure_counts_the_rows_of_the_list_it_links_to(client, demo):
    client.force_login(demo)
    figures = linked_figures(client)
    # The demo has something behind most of them: a comparison of zeros with zeros proves little.
    assert len(figures) >= 12 and sum(1 for *_, value in figures if value) >= 8
    for number, name, link, value in figures:
        assert rows_behind(client, link) == value, (number, name, link)


def test_a_grant_not_started_yet_is_not_a_live_grant_and_a_date_never_set_is_not_overdue(client, demo):
    """The grants list's "live" leaves out a grant that starts tomorrow, and the inventory's
    "Attestation overdue" an identity never asked to attest: the figures read them the same."""
    later = Grant.objects.filter(revoked_at__isnull=True, ends_at__gt=timezone.now()).first()
    Grant.objects.filter(pk=later.pk).update(starts_at=timezone.now() + timedelta(days=1), ends_at=timezone.now() + timedelta(days=400))
    AIIdentity.objects.filter(pk=AIIdentity.objects.filter(status=Status.ACTIVE).first().pk).update(attestation_due=None)
    client.force_login(demo)
    for number, name, link, value in linked_figures(client):
        assert rows_behind(client, link) == value, (number, name, link)
    [attested, least_privilege] = [a.result for a in assess([c for c in CONTROLS if c.id in ("least-privilege", "attested")])]
    # The scheduled grant's end, two years out, is still a finding: it was decided already.
    assert least_privilege.figures["scheduled to start later"] == 1 and least_privilege.figures["ending beyond 365 days"] == 1
    assert attested.figures["no due date"] == 1 and attested.findings_total == attested.figures["overdue"] + 1


def test_a_figure_with_nothing_behind_it_on_an_empty_portal_links_nowhere(client_for, carol):
    page = unescape(client_for(carol).get("/compliance/controls/owned/").content.decode())
    assert re.search(r"<dt>Without an active owner</dt><dd>0</dd>", page)


def test_the_exposure_figures_link_to_the_exposures_they_count(client_for, carol, charlie, sam, agent, get_token):
    """NHIP-12: the last 90 days, and those dismissed in them, are the exposures list's rows
    since that date; one reported before the period is in neither."""
    for where in ("old wiki", "CI log", "a gist", "a ticket"):
        exposure_report_token(actor=charlie, token=get_token(agent)["access_token"], where_found=where)
    now = timezone.now()
    Exposure.objects.filter(where_found="old wiki").update(contained_at=now - timedelta(days=91), seen_at=now - timedelta(days=92))
    Exposure.objects.filter(where_found="a gist").update(contained_at=now - timedelta(days=89), seen_at=now - timedelta(days=89))
    for where in ("old wiki", "CI log"):
        exposure_dismiss(actor=sam, exposure=Exposure.objects.get(where_found=where), reason="sandbox")
    [assessment] = [a for a in assess() if a.control.id == "exposure-response"]
    figures, links = assessment.result.figures, assessment.result.links
    assert figures["exposures, last 90 days"] == 3 and figures["dismissed"] == 1
    assert set(links) == {"exposures, last 90 days", "dismissed"}
    client = client_for(carol)
    for name, link in links.items():
        assert rows_behind(client, link) == figures[name], (name, link)
    page = client.get("/compliance/controls/exposure-response/").content.decode()
    assert f'<a href="{links["dismissed"].replace("&", "&amp;")}"' in page
