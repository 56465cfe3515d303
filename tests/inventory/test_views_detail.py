"""The identity page: facts, owners, flags, the actions a person may take, panels and history."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inventory.models import AIIdentity
from inventory.services import identity_activate, identity_update



def page_url(identity):
    return reverse("inventory:identity-detail", args=[identity.pk])


def test_it_shows_the_facts_and_owners(alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob], name="ticket-summariser", trust_boundary="support-zone")
    body = client_for(alice).get(page_url(identity)).content.decode()
    for fact in ["ticket-summariser", "Summarises support tickets", "support-zone", "Supervised", "Confidential", "Disable the key"]:
        assert fact in body
    assert "Primary owner" in body and "Backup owner" in body
    assert '<span class="badge badge-registered">Registered</span>' in body


def test_it_flags_inactive_owners_and_an_orphaned_identity(alice, bob, sam, client_for, make_identity):
    identity = make_identity(alice, backups=[bob])
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    body = client_for(sam).get(page_url(identity)).content.decode()
    assert body.count('<span class="badge badge-warn">inactive</span>') == 1
    assert "badge-orphaned" not in body
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    body = client_for(sam).get(page_url(identity)).content.decode()
    assert body.count('<span class="badge badge-warn">inactive</span>') == 2
    assert "badge-orphaned" in body


def test_it_flags_an_overdue_attestation(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    AIIdentity.objects.filter(pk=identity.pk).update(attestation_due="2020-01-01")
    body = client_for(alice).get(page_url(identity)).content.decode()
    assert "2020-01-01" in body
    assert '<span class="badge badge-overdue">overdue</span>' in body


@pytest.mark.parametrize("persona", ["alice", "bob", "sam"])
def test_it_offers_actions_to_those_who_may_change_it(persona, request, alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob])
    body = client_for(request.getfixturevalue(persona)).get(page_url(identity)).content.decode()
    assert reverse("inventory:identity-activate", args=[identity.pk]) in body
    assert reverse("inventory:identity-offboard", args=[identity.pk]) in body
    assert reverse("inventory:identity-edit", args=[identity.pk]) in body
    assert reverse("inventory:identity-owners", args=[identity.pk]) in body


@pytest.mark.parametrize("persona", ["rita", "carol"])
def test_it_shows_read_only_roles_no_buttons(persona, request, alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    response = client_for(request.getfixturevalue(persona)).get(page_url(identity))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'method="post"' not in body.split('<main id="content">')[1]
    assert "/edit/" not in body and "/owners/" not in body and "/offboard/" not in body


def test_it_offers_the_next_steps_of_the_lifecycle(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    body = client_for(alice).get(page_url(identity)).content.decode()
    assert reverse("inventory:identity-suspend", args=[identity.pk]) in body
    assert reverse("inventory:identity-activate", args=[identity.pk]) not in body
    assert reverse("inventory:identity-reactivate", args=[identity.pk]) not in body


def test_it_says_what_activation_still_needs(alice, client_for, make_identity):
    identity = make_identity(alice, offboarding_plan="")
    body = client_for(alice).get(page_url(identity)).content.decode()
    assert "Before it can be activated it needs:" in body
    assert "<li>an offboarding plan</li>" in body


def test_it_offers_attestation_to_owners_only(alice, sam, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    attest = reverse("inventory:identity-attest", args=[identity.pk])
    assert attest in client_for(alice).get(page_url(identity)).content.decode()
    assert attest not in client_for(sam).get(page_url(identity)).content.decode()


def test_it_loads_the_credentials_access_and_decisions_panels(alice, client_for, make_identity):
    identity = make_identity(alice)
    body = client_for(alice).get(page_url(identity)).content.decode()
    for panel in ["tokens:identity-credentials-panel", "tokens:identity-access-panel", "policy:identity-decisions-panel"]:
        assert f'hx-get="{reverse(panel, args=[identity.pk])}" hx-trigger="load"' in body


def test_it_shows_the_history_newest_first(alice, client_for, make_identity):
    identity = make_identity(alice, credential=False)
    identity_update(actor=alice, identity=identity, expected_version=1, purpose="Triages alerts.")
    response = client_for(alice).get(page_url(identity))
    assert [e.action for e in response.context["events"]] == ["identity.update", "identity.register"]
    assert "Triages alerts." in response.content.decode()


def test_it_pages_a_long_history(alice, client_for, make_identity):
    identity = make_identity(alice, credential=False)
    for n in range(26):
        identity_update(actor=alice, identity=identity, expected_version=n + 1, purpose=f"Purpose {n}")
    client = client_for(alice)
    assert len(client.get(page_url(identity)).context["events"]) == 25
    assert [e.action for e in client.get(page_url(identity), {"page": 2}).context["events"]] == [
        "identity.update",
        "identity.register",
    ]


def test_it_links_the_history_to_the_audit_log_for_those_who_may_read_it(alice, rita, client_for, make_identity):
    identity = make_identity(alice)
    audit_link = f'{reverse("audit:event-list")}?identity={identity.pk}'
    assert audit_link in client_for(rita).get(page_url(identity)).content.decode()
    assert audit_link not in client_for(alice).get(page_url(identity)).content.decode()


def test_it_hides_the_identity_from_an_outsider(alice, charlie, client_for, make_identity):
    identity = make_identity(alice, name="secret-agent")
    response = client_for(charlie).get(page_url(identity))
    assert response.status_code == 404
    assert b"secret-agent" not in response.content


def test_it_answers_404_for_an_unknown_identity(alice, client_for):
    assert client_for(alice).get("/identities/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_it_lists_the_primary_owner_first(alice, bob, client_for, make_identity):
    identity = make_identity(bob, backups=[alice])
    owners = client_for(bob).get(page_url(identity)).context["owners"]
    assert [(o.person.username, o.role) for o in owners] == [("bob", "primary"), ("alice", "backup")]


def test_history_pages_link_to_the_identity_page_even_after_a_refused_action(alice, client_for, make_identity):
    identity = make_identity(alice, credential=False)
    for n in range(26):
        identity_update(actor=alice, identity=identity, expected_version=n + 1, purpose=f"Purpose {n}")
    identity.refresh_from_db()
    refused = client_for(alice).post(reverse("inventory:identity-suspend", args=[identity.pk]), {"version": identity.version})
    assert refused.status_code == 400  # no reason given
    assert f'href="{page_url(identity)}?page=2#history"' in refused.content.decode()
