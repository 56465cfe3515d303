"""The exposures list filters by whether the leaked token still worked and by what is late
(not triaged a day on, owners not told an hour on), and the credentials list by keys due for
rotation and wildcard federated subjects: NHIP-12, -18 and -04 link to them. Each narrows what
the person may see; an unknown value is refused, not ignored."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.services import identity_suspend
from tests.tokens.conftest import new_private_key, public_jwk
from tokens.credentials import credential_add_federated
from tokens.exposures import exposure_dismiss, exposure_report_token
from tokens.federation import federated_issuer_create
from tokens.models import Exposure, WorkloadCredential

pytestmark = pytest.mark.django_db


def shown(client, url, **query) -> set:
    response = client.get(url, query)
    assert response.status_code == 200
    return {row.pk for row in response.context["page_obj"].object_list}


@pytest.fixture
def exposures(charlie, sam, agent, get_token):
    """Five reports of alice's agent's tokens, by name: each on its own side of the filters."""
    for where in ("fresh", "untriaged", "told", "recent-untold", "dismissed"):
        exposure_report_token(actor=charlie, token=get_token(agent)["access_token"], where_found=where)
    now, by = timezone.now(), {}
    Exposure.objects.filter(where_found="untriaged").update(contained_at=now - timedelta(days=2))
    Exposure.objects.filter(where_found="told").update(contained_at=now - timedelta(days=2), told_at=now - timedelta(days=2), was_live=False)
    Exposure.objects.filter(where_found="recent-untold").update(contained_at=now - timedelta(hours=2))
    Exposure.objects.filter(where_found="dismissed").update(contained_at=now - timedelta(days=2), told_at=now - timedelta(days=2))
    exposure_dismiss(actor=sam, exposure=Exposure.objects.get(where_found="dismissed"), reason="sandbox")
    for e in Exposure.objects.all():
        by[e.where_found] = e.pk
    return by


def test_exposures_filter_by_still_live_and_by_what_is_late(client_for, alice, exposures):
    client, e = client_for(alice), exposures
    assert shown(client, "/exposures/", was_live="false") == {e["told"]}
    assert shown(client, "/exposures/", was_live="true") == set(e.values()) - {e["told"]}
    # Open two days on, its identity active: untriaged; the dismissed one is not, nor the fresh ones.
    assert shown(client, "/exposures/", late="triage") == {e["untriaged"], e["told"]}
    # Owners not told an hour on; one reported just now is not late yet.
    assert shown(client, "/exposures/", late="telling") == {e["untriaged"], e["recent-untold"]}
    page = client.get("/exposures/", {"late": "triage", "state": "open"}).content.decode()
    assert 'name="late"' in page and 'name="was_live"' in page and '<input type="hidden" name="state" value="open">' in page


def test_an_identity_suspended_since_is_not_waiting_for_triage(client_for, alice, sam, agent, exposures):
    identity_suspend(actor=sam, identity=agent.identity, reason="contained by hand")
    assert shown(client_for(alice), "/exposures/", late="triage") == set()


def test_an_outsider_finds_no_exposure_behind_the_new_filters(client_for, bob, charlie, exposures):
    for person in (bob, charlie):
        for query in ({"was_live": "true"}, {"was_live": "false"}, {"late": "triage"}, {"late": "telling"}):
            assert shown(client_for(person), "/exposures/", **query) == set(), (person, query)


@pytest.mark.parametrize("url,name", [("/exposures/", "was_live"), ("/exposures/", "late"), ("/credentials/", "rotation_due"), ("/credentials/", "wildcard")])
def test_an_unknown_value_is_a_field_error_not_ignored(client_for, alice, agent, url, name):
    assert client_for(alice).get(url, {name: "soon"}).status_code == 400


def test_credentials_filter_by_keys_due_for_rotation_and_wildcard_subjects(client_for, alice, bob, sam, make_agent, make_identity):
    old, young = make_agent(alice, name="old-key").identity, make_agent(alice, name="young-key").identity
    WorkloadCredential.objects.filter(identity=old).update(created_at=timezone.now() - timedelta(days=400))
    issuer = federated_issuer_create(
        actor=sam, name="Cluster", issuer="https://k8s.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k1")]}, max_age=900,
    )
    exact = credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject="ns:a:b")
    family = credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject="ns:c:*")
    key = {i: WorkloadCredential.objects.get(identity=i).pk for i in (old, young)}
    client = client_for(alice)
    assert shown(client, "/credentials/", rotation_due="true") == {key[old]}
    assert shown(client, "/credentials/", kind="jwk", rotation_due="false") == {key[young]}
    assert shown(client, "/credentials/", wildcard="true") == {family.pk}
    assert shown(client, "/credentials/", kind="federated", wildcard="false") == {exact.pk}
    page = client.get("/credentials/", {"kind": "jwk"}).content.decode()
    assert 'name="rotation_due"' in page and 'name="wildcard"' in page
    for query in ({"rotation_due": "true"}, {"wildcard": "true"}):
        assert shown(client_for(bob), "/credentials/", **query) == set()
