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
from inventory.services import identity_offboard
from nhiportal.compliance.controls import CONTROLS, assess
from nhiportal.people.models import SecondFactor
from nhiportal.people.roles import REVIEWER
from nhiportal.people.second_factor import encrypt_secret
from nhiportal.people.services import person_deactivate
from tests.conftest import _person
from tests.tokens.conftest import new_private_key, public_jwk
from tokens.credentials import credential_add_federated, credential_disable
from tokens.exposures import exposure_dismiss, exposure_report_token
from tokens.federation import federated_issuer_create
from tokens.models import Exposure, Grant, WorkloadCredential

from .conftest import check

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


LINKED_FIGURE = re.compile(r'<dt>([^<]*)</dt><dd><a href="([^"]*)" title="The list these are counted from">([^<]*)</a></dd>')


def linked_figures(client) -> list[tuple[str, str, str, object]]:
    """(control, figure, link, value) of every linked figure on the control pages, as shown:
    read off the page, since a link may carry the instant its figure was counted at."""
    found = []
    for a in assess():
        page = client.get(f"/compliance/controls/{a.control.id}/").content.decode()
        shown = {unescape(name): (unescape(link), unescape(value)) for name, link, value in LINKED_FIGURE.findall(page)}
        assert set(shown) == {name[:1].upper() + name[1:] for name in a.result.links}, a.control.number
        for name, (link, value) in shown.items():
            found.append((a.control.number, name, link, int(value) if value.isdigit() else value))
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
    assert set(links) == {"exposures, last 90 days", "dismissed", "still live when reported", "untriaged after 24 h", "owners not told"}
    client = client_for(carol)
    for name, link in links.items():
        assert rows_behind(client, link) == figures[name], (name, link)
    page = client.get("/compliance/controls/exposure-response/").content.decode()
    assert f'<a href="{links["dismissed"].replace("&", "&amp;")}"' in page


def test_live_untriaged_and_untold_exposures_link_to_the_exposures_they_count(client_for, carol, bob, charlie, sam, agent, get_token):
    """NHIP-12: still live when reported, open a day on with the identity active, owners not
    told after an hour: each figure is the exposures list's rows under its Late or Still live
    filter, with rows seeded on both sides of each."""
    for where in ("CI log", "a gist", "a ticket", "a paste", "a notebook"):
        exposure_report_token(actor=charlie, token=get_token(agent)["access_token"], where_found=where)
    now = timezone.now()
    # Open for two days, owners never told: untriaged and untold.
    Exposure.objects.filter(where_found="a gist").update(contained_at=now - timedelta(days=2), seen_at=now - timedelta(days=3))
    # Open two days, owners told: untriaged, not untold; and it no longer worked when reported.
    Exposure.objects.filter(where_found="a ticket").update(
        contained_at=now - timedelta(days=2), seen_at=now - timedelta(days=3), told_at=now - timedelta(days=2), was_live=False,
    )
    # Two hours old, owners not told: untold, but not yet due for triage.
    Exposure.objects.filter(where_found="a paste").update(contained_at=now - timedelta(hours=2), seen_at=now - timedelta(hours=3))
    # Two days old but dismissed: triaged.
    Exposure.objects.filter(where_found="a notebook").update(contained_at=now - timedelta(days=2), told_at=now - timedelta(days=2))
    exposure_dismiss(actor=sam, exposure=Exposure.objects.get(where_found="a notebook"), reason="sandbox")
    result = check("exposure-response")
    figures, links = result.figures, result.links
    assert (figures["still live when reported"], figures["untriaged after 24 h"], figures["owners not told"]) == (4, 2, 2)
    client = client_for(carol)
    for name in ("still live when reported", "untriaged after 24 h", "owners not told"):
        assert rows_behind(client, links[name]) == figures[name], (name, links[name])
    # An owner of none of them, and the person who reported them, find none behind the links.
    for outsider in (bob, charlie):
        for name in ("still live when reported", "untriaged after 24 h", "owners not told"):
            assert rows_behind(client_for(outsider), links[name]) == 0, (outsider, name)


def assert_linked_figures_count_their_rows(client, result, names):
    for name in names:
        assert name in result.links, name
        assert rows_behind(client, result.links[name]) == result.figures[name], (name, result.links[name])


def test_identities_in_service_and_incomplete_records_link_to_the_identities_they_count(
    client_for, carol, alice, bob, charlie, make_identity, make_agent,
):
    """NHIP-01 and NHIP-02: identities in service are those not offboarded; an incomplete
    record lacks a purpose, boundary, ceiling or offboarding plan. An offboarded identity with
    a gap is in neither figure, nor behind either link."""
    make_agent(alice, name="complete-active")
    make_identity(alice, name="no-purpose", purpose="")
    make_identity(bob, name="no-plan", offboarding_plan="")
    identity_offboard(actor=alice, identity=make_agent(alice, name="gone").identity, reason="retired")
    identity_offboard(actor=alice, identity=make_identity(alice, name="gone-no-boundary", trust_boundary=""), reason="never used")
    owned, documented = check("owned"), check("documented")
    assert owned.figures["identities in service"] == 3
    assert (documented.figures["identities in service"], documented.figures["incomplete"]) == (3, 2)
    client = client_for(carol)
    assert_linked_figures_count_their_rows(client, owned, ["identities in service"])
    assert_linked_figures_count_their_rows(client, documented, ["identities in service", "incomplete"])
    # The filters narrow what each person sees: bob finds his own, charlie nothing.
    assert rows_behind(client_for(bob), documented.links["incomplete"]) == 1
    assert rows_behind(client_for(bob), documented.links["identities in service"]) == 1
    for link in documented.links.values():
        assert rows_behind(client_for(charlie), link) == 0


def test_active_identities_without_a_credential_and_wildcard_subjects_link_to_what_they_count(
    client_for, carol, sam, alice, charlie, make_identity, make_agent,
):
    """NHIP-04: an active identity whose credentials are all disabled, and enabled federated
    subjects ending in *; a disabled wildcard and an exact subject are in neither."""
    make_agent(alice, name="with-key")
    bare = make_agent(alice, name="key-disabled").identity
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=bare), reason="rotating")
    issuer = federated_issuer_create(
        actor=sam, name="Cluster", issuer="https://k8s.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k1")]}, max_age=900,
    )
    for subject in ("system:serviceaccount:a:b", "system:serviceaccount:c:*", "system:serviceaccount:d:*"):
        credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject=subject)
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(subject="system:serviceaccount:d:*"), reason="job gone")
    result = check("workload-identity")
    assert (result.figures["active without a credential"], result.figures["federated subjects ending in * (a family of jobs)"]) == (1, 1)
    assert_linked_figures_count_their_rows(
        client_for(carol), result, ["active without a credential", "federated subjects ending in * (a family of jobs)", "federated subjects"],
    )
    for name in ("active without a credential", "federated subjects ending in * (a family of jobs)"):
        assert rows_behind(client_for(charlie), result.links[name]) == 0


def test_keys_due_for_rotation_link_to_the_keys_they_count(client_for, carol, alice, bob, make_agent):
    """NHIP-18: enabled public keys older than the maximum age; a young key and an old
    disabled one are not due."""
    old, young, retired = (make_agent(alice, name=n).identity for n in ("old-key", "young-key", "retired-key"))
    WorkloadCredential.objects.filter(identity__in=[old, retired]).update(created_at=timezone.now() - timedelta(days=400))
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=retired), reason="replaced")
    result = check("key-rotation")
    [name] = [n for n in result.figures if n.startswith("older than")]
    assert result.figures[name] == 1
    assert_linked_figures_count_their_rows(client_for(carol), result, [name, "enabled public keys"])
    assert rows_behind(client_for(bob), result.links[name]) == 0


def test_people_who_decide_access_link_to_the_people_they_count(client_for, carol, rita, sam, alice, charlie, django_user_model):
    """NHIP-21: active reviewers and security admins (a superuser is one), and those of them
    with a password alone; an owner, compliance and an inactive reviewer decide nothing."""
    django_user_model.objects.create_superuser("root", "root@example.com", "a-long-enough-password")
    leaver = _person("leaver", REVIEWER)
    person_deactivate(actor=sam, person=leaver, reason="left")
    SecondFactor.objects.create(user=rita, secret_encrypted=encrypt_secret("JBSWY3DPEHPK3PXP"))
    result = check("two-factors")
    assert (result.figures["people who decide access"], result.figures["password alone"]) == (3, 2)
    assert_linked_figures_count_their_rows(client_for(carol), result, ["people who decide access", "password alone"])
    # The people list is for those who read the whole inventory: an owner, or a person with no
    # role, is refused it, filtered or not.
    for outsider in (alice, charlie):
        for link in result.links.values():
            assert client_for(outsider).get(link).status_code == 403
