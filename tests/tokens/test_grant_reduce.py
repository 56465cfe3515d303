"""Removing scopes from a grant: what goes unused goes, with the tokens that carry it."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.models import Grant, IssuedToken
from tokens.services import grant_reduce

from .conftest import token_request

pytestmark = pytest.mark.django_db


def _page(grant):
    return f"/grants/{grant.pk}/reduce/"


def _api(grant):
    return f"/api/v1/grants/{grant.pk}/reduce/"


@pytest.fixture
def both(agent, crm, grant):
    return grant(agent, crm, ["tickets:read", "tickets:write"], starts_at=timezone.now() - timedelta(days=40))


def test_it_removes_scopes_and_revokes_the_tokens_that_carry_them(alice, agent, both, oauth):
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    assert token_request(oauth, agent, scope="tickets:read tickets:write").status_code == 200
    reader, writer = IssuedToken.objects.order_by("pk")
    grant_reduce(actor=alice, grant=both, remove=["tickets:write"], reason="Never writes.")
    both.refresh_from_db()
    assert both.scopes == ["tickets:read"] and both.revoked_at is None
    reader.refresh_from_db()
    writer.refresh_from_db()
    assert reader.revoked_at is None and writer.revoked_at is not None and "Never writes." in writer.revoke_reason
    [event] = AuditEvent.objects.filter(action="grant.reduce")
    assert event.before == {"scopes": ["tickets:read", "tickets:write"]}
    assert event.after == {"scopes": ["tickets:read"], "tokens_revoked": 1}
    # The agent can no longer get what was taken away, and still gets the rest.
    refused = token_request(oauth, agent, scope="tickets:write")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200


def test_removing_every_scope_revokes_the_grant(alice, both):
    grant_reduce(actor=alice, grant=both, remove=["tickets:read", "tickets:write"], reason="Unused.")
    both.refresh_from_db()
    assert both.revoked_at is not None and both.scopes == ["tickets:read", "tickets:write"]
    assert list(AuditEvent.objects.filter(action__startswith="grant.r").values_list("action", flat=True)) == ["grant.revoke"]


@pytest.mark.parametrize(
    "remove, reason, field, message",
    [
        ([], "Unused.", "scopes", "Choose at least one scope"),
        (["tickets:delete"], "Unused.", "scopes", "does not hold: tickets:delete"),
        (["tickets:write"], "  ", "reason", "Say why"),
    ],
)
def test_it_refuses_what_it_cannot_do_and_changes_nothing(alice, both, remove, reason, field, message):
    with pytest.raises(ValidationError) as refused:
        grant_reduce(actor=alice, grant=both, remove=remove, reason=reason)
    assert message in str(refused.value.message_dict[field])
    both.refresh_from_db()
    assert both.scopes == ["tickets:read", "tickets:write"] and not AuditEvent.objects.filter(action="grant.reduce").exists()


def test_an_ended_grant_has_nothing_to_take_away(alice, sam, both):
    Grant.objects.filter(pk=both.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="has ended"):
        grant_reduce(actor=alice, grant=both, remove=["tickets:write"], reason="Unused.")


def test_an_owner_removes_the_unused_scope_on_the_page(alice, agent, both, oauth, client_for):
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    client = client_for(alice)
    page = client.get(_page(both))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.fields["scopes"].initial == ["tickets:write"]
    assert "tickets:write: not used in the last 30 days" in page.content.decode()
    response = client.post(_page(both), {"scopes": ["tickets:write"], "reason": "Not used in the last 30 days."})
    assert response.status_code == 302 and response["Location"].endswith(f"/identities/{agent.identity.pk}/#access")
    both.refresh_from_db()
    assert both.scopes == ["tickets:read"]


def test_the_page_shows_errors_next_to_the_fields(alice, both, client_for):
    response = client_for(alice).post(_page(both), {"scopes": ["tickets:nope"], "reason": ""})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"scopes", "reason"}


def test_people_who_may_not_change_the_identity_are_refused(both, client_for, rita, carol, charlie, bob):
    for person, status in ((rita, 403), (carol, 403), (charlie, 404), (bob, 404)):
        client = client_for(person)
        assert client.get(_page(both)).status_code == status, person
        assert client.post(_page(both), {"scopes": ["tickets:write"], "reason": "x"}).status_code == status
        assert client.post(_api(both), {"scopes": ["tickets:write"], "reason": "x"}, content_type="application/json").status_code == status
    both.refresh_from_db()
    assert both.scopes == ["tickets:read", "tickets:write"]


def test_a_security_admin_removes_scopes_through_the_api(sam, both, client_for):
    client = client_for(sam)
    response = client.post(_api(both), {"scopes": ["tickets:write"], "reason": "Unused."}, content_type="application/json")
    assert response.status_code == 200 and response.json()["scopes"] == ["tickets:read"]
    refused = client.post(_api(both), {"scopes": ["tickets:write"], "reason": "Again."}, content_type="application/json")
    assert refused.status_code == 400 and "does not hold" in str(refused.json())


BULK = "/grants/unused/remove/"


def _messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_a_security_admin_removes_the_unused_scopes_of_several_grants_at_once(sam, agent, make_agent, both, grant, crm, oauth, client_for):
    idle = grant(make_agent(), crm, ["tickets:write"], starts_at=timezone.now() - timedelta(days=40))
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    client = client_for(sam)
    page = client.get("/grants/?state=unused").content.decode()
    assert f'name="grant" value="{both.pk}"' in page and f'name="grant" value="{idle.pk}"' in page
    response = client.post(BULK, {"grant": [both.pk, idle.pk], "reason": "Quarterly clean-up."}, follow=True)
    assert "1 grant narrowed; 1 revoked (every scope unused)." in " ".join(_messages(response))
    both.refresh_from_db()
    idle.refresh_from_db()
    assert both.scopes == ["tickets:read"] and both.revoked_at is None and idle.revoked_at is not None
    assert AuditEvent.objects.filter(action="grant.reduce").count() == 1
    assert AuditEvent.objects.filter(action="grant.revoke", reason="Quarterly clean-up.").count() == 1


def test_a_scope_used_since_the_last_check_stays(alice, agent, both, oauth, client_for):
    call_command("grant_usage", stdout=io.StringIO())  # both scopes unused
    assert token_request(oauth, agent, scope="tickets:write").status_code == 200  # then one is used
    client_for(alice).post(BULK, {"grant": [both.pk], "reason": "Clean-up."})
    both.refresh_from_db()
    assert both.scopes == ["tickets:write"]


def test_the_bulk_action_refuses_what_the_person_may_not_change_and_changes_nothing(both, rita, charlie, bob, alice, client_for):
    call_command("grant_usage", stdout=io.StringIO())
    for person in (rita, charlie, bob):
        response = client_for(person).post(BULK, {"grant": [both.pk], "reason": "Mine now."}, follow=True)
        assert any("not one you may remove unused scopes from" in m for m in _messages(response)), person
    for bad in ({"reason": "No grant."}, {"grant": [both.pk]}, {"grant": ["9" * 30], "reason": "x"}, {"grant": ["²"], "reason": "x"}):
        response = client_for(alice).post(BULK, bad, follow=True)
        assert response.status_code == 200 and any(m.startswith(("Grant:", "Reason:")) for m in _messages(response))
    both.refresh_from_db()
    assert both.scopes == ["tickets:read", "tickets:write"] and not AuditEvent.objects.filter(action__startswith="grant.re").exists()
    assert client_for(alice).get(BULK).status_code == 405
