"""The identity list's bulk actions: boxes for the rows one may change, a confirmation page that
says what will happen, then all or nothing back on the list with its filters."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import AIIdentity, OwnerRole, Status
from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER, REVIEWER
from tests.conftest import _person
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)

LIST = reverse("inventory:identity-list")
SUSPEND = reverse("inventory:identity-bulk-suspend")
REACTIVATE = reverse("inventory:identity-bulk-reactivate")
OWNERS = reverse("inventory:identity-bulk-owners")


def status_of(identity):
    return AIIdentity.objects.get(pk=identity.pk).status


def active(owner, make_identity, **fields):
    return identity_activate(actor=owner, identity=make_identity(owner, **fields))


def boxes(response) -> int:
    return response.content.decode().count('type="checkbox" name="identity"')


def test_owners_get_a_box_on_each_identity_they_own_and_the_actions(alice, client_for, make_identity):
    active(alice, make_identity)
    active(alice, make_identity)
    response = client_for(alice).get(LIST)
    assert boxes(response) == 2
    body = response.content.decode()
    assert f'formaction="{SUSPEND}"' in body and f'formaction="{REACTIVATE}"' in body and f'formaction="{OWNERS}"' in body
    assert 'data-check-all="identity"' in body
    assert "csrfmiddlewaretoken" in body


@pytest.mark.parametrize("persona", ["rita", "carol"])
def test_reviewers_and_compliance_see_no_bulk_controls(persona, request, alice, client_for, make_identity):
    active(alice, make_identity)
    response = client_for(request.getfixturevalue(persona)).get(LIST)
    assert len(response.context["identities"]) == 1
    assert boxes(response) == 0
    assert "Suspend…" not in response.content.decode() and 'data-check-all' not in response.content.decode()


def test_a_reviewer_who_also_owns_gets_a_box_only_on_what_they_own(alice, client_for, make_identity):
    both = _person("rowan", REVIEWER, OWNER)
    active(alice, make_identity)
    theirs = active(both, make_identity)
    response = client_for(both).get(LIST)
    assert len(response.context["identities"]) == 2
    assert boxes(response) == 1
    assert f'name="identity" value="{theirs.pk}"' in response.content.decode()


def test_it_lists_the_identities_ticked_with_what_suspending_them_ends(alice, client_for, make_agent, get_token):
    first, second = make_agent(alice, name="billing-agent"), make_agent(alice, name="crm-agent")
    get_token(first), get_token(second), get_token(second)
    response = client_for(alice).post(SUSPEND, {"identity": [first.identity.pk, second.identity.pk], "back": "status=active"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Suspend 2 identities" in body
    assert "billing-agent" in body and "crm-agent" in body
    assert "<strong>3 live tokens</strong> are revoked" in body and "<strong>3 open tasks</strong> are ended" in body
    assert 'name="confirmed" value="yes"' in body and 'name="reason"' in body
    assert body.count('type="hidden" name="identity"') == 2
    # Nothing happens until the person confirms.
    assert status_of(first.identity) == status_of(second.identity) == Status.ACTIVE


def test_it_suspends_them_on_confirmation_and_returns_to_the_list_with_its_filters(alice, client_for, make_agent, get_token):
    first, second = make_agent(alice), make_agent(alice)
    get_token(first)
    response = client_for(alice).post(
        SUSPEND,
        {"identity": [first.identity.pk, second.identity.pk], "back": "status=active&sort=-created&page=3", "reason": "Retired", "confirmed": "yes"},
        follow=True,
    )
    assert response.redirect_chain == [(f"{LIST}?status=active&sort=-created", 302)]
    assert "Suspended 2 identities: 1 live token revoked, 1 open task ended." in response.content.decode()
    assert status_of(first.identity) == status_of(second.identity) == Status.SUSPENDED
    assert AuditEvent.objects.filter(action="identity.suspend").count() == 2


def test_it_asks_for_a_reason_next_to_the_field(alice, client_for, make_identity):
    identity = active(alice, make_identity)
    response = client_for(alice).post(SUSPEND, {"identity": [identity.pk], "reason": " ", "confirmed": "yes"})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == ["This field is required."]
    assert 'id="id_reason_error"' in response.content.decode()
    assert status_of(identity) == Status.ACTIVE


def test_it_names_what_cannot_be_done_and_offers_to_go_on_without_it(alice, client_for, make_identity):
    live = active(alice, make_identity, name="live-agent")
    draft = make_identity(alice, name="draft-agent")
    client = client_for(alice)
    response = client.post(SUSPEND, {"identity": [live.pk, draft.pk]})
    assert response.status_code == 400
    body = response.content.decode()
    assert "draft-agent cannot be part of this" in body
    assert "Cannot: it is registered: only active identities are suspended." in body
    assert 'name="confirmed"' not in body
    assert "Go on without it" in body and f'<input type="hidden" name="identity" value="{live.pk}">' in body
    # Confirming anyway (a stale page, a hand-made post) is refused whole.
    response = client.post(SUSPEND, {"identity": [live.pk, draft.pk], "reason": "Cleanup", "confirmed": "yes"})
    assert response.status_code == 400
    assert status_of(live) == Status.ACTIVE and not AuditEvent.objects.filter(action="identity.suspend").exists()


def test_someone_elses_identity_posted_by_hand_refuses_the_batch_and_tells_nothing(alice, bob, client_for, make_identity):
    mine = active(alice, make_identity, name="alices-agent")
    theirs = active(bob, make_identity, name="bobs-secret-agent")
    client = client_for(alice)
    answers = [
        client.post(SUSPEND, {"identity": [mine.pk, theirs.pk], "reason": "x", "confirmed": "yes"}),
        client.post(SUSPEND, {"identity": [mine.pk, uuid.uuid4()], "reason": "x", "confirmed": "yes"}),
        client.post(SUSPEND, {"identity": [mine.pk, "not-an-id"], "reason": "x", "confirmed": "yes"}),
        client.post(SUSPEND, {"identity": [theirs.pk]}),
    ]
    assert {a.status_code for a in answers} == {404}
    # Another's identity, one that does not exist, and no id at all read alike.
    assert len({a.content.decode().replace(str(a.context["csrf_token"]), "") for a in answers}) == 1
    assert "bobs-secret-agent" not in answers[0].content.decode()
    assert "An identity chosen does not exist, or is not yours to change." in answers[0].content.decode()
    assert status_of(mine) == status_of(theirs) == Status.ACTIVE


@pytest.mark.parametrize("url", [SUSPEND, REACTIVATE, OWNERS])
def test_an_outsider_changes_nothing_and_learns_nothing(url, alice, charlie, client_for, make_identity):
    identity = active(alice, make_identity)
    response = client_for(charlie).post(url, {"identity": [identity.pk], "reason": "x", "confirmed": "yes"})
    assert response.status_code == 404
    assert identity.name not in response.content.decode()
    assert status_of(identity) == Status.ACTIVE


def test_a_reviewer_posting_by_hand_changes_nothing(alice, rita, client_for, make_identity):
    identity = active(alice, make_identity)
    response = client_for(rita).post(SUSPEND, {"identity": [identity.pk], "reason": "x", "confirmed": "yes"})
    assert response.status_code == 404
    assert status_of(identity) == Status.ACTIVE


def test_signed_out_it_asks_to_sign_in(alice, make_identity):
    identity = active(alice, make_identity)
    response = Client().post(SUSPEND, {"identity": [identity.pk], "reason": "x", "confirmed": "yes"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert status_of(identity) == Status.ACTIVE


def test_it_refuses_a_batch_bigger_than_a_page_with_a_clear_message(settings, alice, client_for, make_identity):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}
    identities = [active(alice, make_identity) for _ in range(3)]
    response = client_for(alice).post(
        SUSPEND, {"identity": [i.pk for i in identities], "back": "q=agent", "reason": "x", "confirmed": "yes"}, follow=True,
    )
    assert response.redirect_chain == [(f"{LIST}?q=agent", 302)]
    assert "Choose at most 2 identities at once (a page of the list). Nothing was done." in response.content.decode()
    assert {status_of(i) for i in identities} == {Status.ACTIVE}


def test_pressing_an_action_with_nothing_ticked_says_so(alice, client_for, make_identity):
    active(alice, make_identity)
    response = client_for(alice).post(SUSPEND, {"back": ""}, follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert "Tick at least one identity." in response.content.decode()


def test_it_is_post_only_and_needs_the_forms_csrf_token(alice, make_identity):
    identity = active(alice, make_identity)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(SUSPEND).status_code == 405
    assert client.post(SUSPEND, {"identity": [identity.pk], "reason": "x", "confirmed": "yes"}).status_code == 403
    assert status_of(identity) == Status.ACTIVE
    # The confirmation page's own form carries a token, as the list's does.
    client.get(LIST)
    page = client.post(SUSPEND, {"identity": [identity.pk], "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()


def test_an_owner_cannot_reactivate_in_bulk_what_a_security_admin_suspended(alice, sam, client_for, make_identity):
    held = active(alice, make_identity, name="held-agent")
    client_for(sam).post(SUSPEND, {"identity": [held.pk], "reason": "Investigating", "confirmed": "yes"})
    response = client_for(alice).post(REACTIVATE, {"identity": [held.pk], "confirmed": "yes"})
    assert response.status_code == 400
    assert "Cannot: it was suspended by a security admin: only a security admin reactivates it." in response.content.decode()
    assert status_of(held) == Status.SUSPENDED
    response = client_for(sam).post(REACTIVATE, {"identity": [held.pk], "reason": "Cleared", "confirmed": "yes"}, follow=True)
    assert "Reactivated 1 identity." in response.content.decode()
    assert status_of(held) == Status.ACTIVE


def test_a_security_admin_hands_identities_over_to_someone_who_moved_in(alice, bob, sam, client_for, make_identity):
    first, second = make_identity(alice, name="first-agent"), make_identity(alice, name="second-agent")
    client = client_for(sam)
    page = client.post(OWNERS, {"identity": [first.pk, second.pk]})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Change the primary owner of 2 identities" in body and 'data-search-url="/people/owners/"' in body
    response = client.post(
        OWNERS,
        {"identity": [first.pk, second.pk], "primary_owner": bob.pk, "previous_primary": "remove", "reason": "Alice moved team", "confirmed": "yes"},
        follow=True,
    )
    assert "bob is now the primary owner of 2 identities." in response.content.decode()
    for identity in (first, second):
        assert [(o.person, o.role) for o in identity.ownerships.all()] == [(bob, OwnerRole.PRIMARY)]
    assert AuditEvent.objects.filter(action="identity.owners_set", reason="Alice moved team").count() == 2


def test_only_someone_with_the_owner_role_is_offered_as_primary_owner(alice, rita, sam, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(sam).post(
        OWNERS, {"identity": [identity.pk], "primary_owner": rita.pk, "previous_primary": "remove", "confirmed": "yes"},
    )
    assert response.status_code == 400
    assert "rita has the reviewer role" in " ".join(response.context["form"].errors["primary_owner"])
    assert [o.person for o in identity.ownerships.all()] == [alice]
