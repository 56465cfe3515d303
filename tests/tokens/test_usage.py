"""Unused access: the scopes of live grants no token carried for the whole window."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from tokens.models import Grant, IssuedToken
from tokens.services import service_create
from tokens.usage import stored_use

from .conftest import token_request

pytestmark = pytest.mark.django_db

UNUSED_PAGE = "/grants/?state=unused"
UNUSED_API = "/api/v1/grants/unused/"


@pytest.fixture
def old_grant(grant, crm):
    """A grant of tickets:read and tickets:write, live since 40 days (the window is 30)."""

    def give(agent, scopes=("tickets:read", "tickets:write"), *, service=None):
        return grant(agent, service or crm, list(scopes), starts_at=timezone.now() - timedelta(days=40))

    return give


def _use(grant):
    """What the hourly grant_usage step stores for the grant, run now."""
    call_command("grant_usage", stdout=io.StringIO())
    return stored_use(Grant.objects.get(pk=grant.pk))


def test_a_token_carrying_some_scopes_leaves_the_others_unused(agent, old_grant, oauth):
    grant = old_grant(agent)
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    use = _use(grant)
    assert use.unused and use.unused_scopes == ("tickets:write",)
    assert use.last_used_at == IssuedToken.objects.get().issued_at
    assert token_request(oauth, agent, scope="tickets:read tickets:write").status_code == 200
    use = _use(grant)
    assert not use.unused and use.unused_scopes == ()


def test_a_grant_no_token_used_in_the_window_is_unused(agent, old_grant, oauth):
    grant = old_grant(agent)
    assert token_request(oauth, agent, scope="tickets:read tickets:write").status_code == 200
    IssuedToken.objects.update(issued_at=timezone.now() - timedelta(days=31))  # before the window
    use = _use(grant)
    assert use.unused and use.unused_scopes == ("tickets:read", "tickets:write") and use.last_used_at is None


def test_a_grant_younger_than_the_window_is_not_judged(agent, grant, crm):
    young = grant(agent, crm, ["tickets:read"], starts_at=timezone.now() - timedelta(days=29))
    use = _use(young)
    assert use.unused_scopes == () and not use.judged and not use.unused


def test_tokens_for_another_service_or_identity_do_not_count(agent, make_agent, old_grant, sam, oauth, settings):
    other_service = service_create(
        actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, trust_boundary="corp-internal",
        scopes=[{"name": "tickets:read", "description": "Same name, another service"}],
    )
    grant = old_grant(agent)
    old_grant(agent, ["tickets:read"], service=other_service)
    other_agent = make_agent()
    old_grant(other_agent)
    assert token_request(oauth, agent, resource="https://wiki.example.com", scope="tickets:read").status_code == 200
    assert token_request(oauth, other_agent, scope="tickets:read tickets:write").status_code == 200
    assert _use(grant).unused_scopes == ("tickets:read", "tickets:write")


def test_security_admins_list_unused_grants_on_the_page_and_the_api(agent, old_grant, oauth, client_for, sam):
    grant = old_grant(agent)
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    client = client_for(sam)
    page = client.get(UNUSED_PAGE)
    assert page.status_code == 200
    assert [g.pk for g in page.context["grants"]] == [grant.pk]
    html = page.content.decode()
    assert agent.identity.name in html and "<code>tickets:write</code>" in html and "Unused" in html
    body = client.get(UNUSED_API).json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row["id"] == grant.pk and row["unused_scopes"] == ["tickets:write"] and row["identity_name"] == agent.identity.name
    assert row["last_used_at"] is not None


def test_the_unused_list_says_not_checked_yet_before_the_usage_check_ever_ran(agent, old_grant, client_for, sam):
    old_grant(agent)
    page = client_for(sam).get(UNUSED_PAGE).content.decode()
    assert "Not checked yet" in page and "No unused access" not in page


def test_the_unused_list_is_empty_when_everything_granted_is_used(agent, old_grant, oauth, client_for, sam):
    old_grant(agent)
    assert token_request(oauth, agent, scope="tickets:read tickets:write").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    page = client_for(sam).get(UNUSED_PAGE)
    assert page.context["grants"] == [] and "No unused access" in page.content.decode()
    assert client_for(sam).get(UNUSED_API).json()["count"] == 0


def test_owners_see_their_own_unused_grants_and_outsiders_none(agent, make_agent, old_grant, client_for, alice, bob, charlie):
    mine = old_grant(agent)  # agent is alice's
    theirs = old_grant(make_agent(bob))
    call_command("grant_usage", stdout=io.StringIO())
    assert [g.pk for g in client_for(alice).get(UNUSED_PAGE).context["grants"]] == [mine.pk]
    assert [g["id"] for g in client_for(bob).get(UNUSED_API).json()["results"]] == [theirs.pk]
    outsider = client_for(charlie)
    page = outsider.get(UNUSED_PAGE)
    assert page.status_code == 200 and page.context["grants"] == []
    assert agent.identity.name not in page.content.decode()
    assert outsider.get(UNUSED_API).json()["count"] == 0


def test_signed_out_visitors_are_refused(client):
    assert client.get(UNUSED_PAGE).status_code == 302
    assert client.get(UNUSED_API).status_code in (401, 403)


def test_the_identity_page_says_which_grant_goes_unused(agent, old_grant, grant, crm, oauth, client_for, alice):
    old_grant(agent, ["tickets:write"])
    grant(agent, crm, ["tickets:read"])  # new: not judged yet
    call_command("grant_usage", stdout=io.StringIO())
    html = client_for(alice).get(f"/identities/{agent.identity.pk}/access-panel/").content.decode()
    assert html.count("Unused") == 1 and "not yet" in html


def test_a_window_longer_than_the_ledger_keeps_is_refused_at_start(settings):
    settings.NHI = {**settings.NHI, "UNUSED_ACCESS_DAYS": settings.NHI["TOKEN_RETENTION_DAYS"] + 1}
    with pytest.raises(SystemCheckError, match="tokens.E001"):
        call_command("check")


def test_before_the_first_check_the_pages_say_so(agent, old_grant, client_for, sam):
    old_grant(agent)
    html = client_for(sam).get("/grants/").content.decode()
    assert "not checked yet" in html and "Unused" not in html.split("<tbody>")[1]
    assert client_for(sam).get(UNUSED_PAGE).context["grants"] == []


def test_the_step_records_one_audit_event_when_findings_change(agent, old_grant, oauth):
    from nhiportal.audit.models import AuditEvent

    old_grant(agent)
    out = io.StringIO()
    call_command("grant_usage", stdout=out)
    assert "Checked 1 live grants: 1 hold a scope unused for 30 days (1 changed since the last run)." in out.getvalue()
    call_command("grant_usage", stdout=io.StringIO())  # nothing new: no event
    assert token_request(oauth, agent, scope="tickets:read tickets:write").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    events = list(AuditEvent.objects.filter(action="grants.usage").order_by("id"))
    assert [e.after["with_unused_scopes"] for e in events] == [1, 0]


def test_the_remove_page_sees_tokens_issued_since_the_last_check(agent, old_grant, oauth, client_for, alice):
    both = old_grant(agent)
    call_command("grant_usage", stdout=io.StringIO())
    assert token_request(oauth, agent, scope="tickets:write").status_code == 200  # after the check
    form = client_for(alice).get(f"/grants/{both.pk}/reduce/").context["form"]
    assert form.fields["scopes"].initial == ["tickets:read"]


def test_the_dashboard_card_lists_unused_grants_and_who_may_remove_them(agent, old_grant, client_for, alice, rita, charlie, client):
    grant = old_grant(agent)
    call_command("grant_usage", stdout=io.StringIO())
    assert 'hx-get="/grants/unused-card/"' in client_for(alice).get("/").content.decode()
    card = client_for(alice).get("/grants/unused-card/")
    assert card.context["count"] == 1
    html = card.content.decode()
    assert agent.identity.name in html and f"/grants/{grant.pk}/reduce/" in html
    reviewer = client_for(rita).get("/grants/unused-card/").content.decode()
    assert agent.identity.name in reviewer and "/reduce/" not in reviewer  # reviewers read, owners act
    outsider = client_for(charlie).get("/grants/unused-card/")
    assert outsider.context["count"] == 0 and agent.identity.name not in outsider.content.decode()
    assert client.get("/grants/unused-card/").status_code == 302


def test_the_service_page_shows_each_grants_last_use_to_those_who_see_it(agent, make_agent, old_grant, oauth, client_for, alice, bob, crm):
    old_grant(agent)
    old_grant(make_agent(bob))
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    page = client_for(alice).get(f"/services/{crm.pk}/")
    assert [g.identity_id for g in page.context["grants"]] == [agent.identity.pk]  # bob's agent: not hers to see
    html = page.content.decode()
    assert "Unused" in html and "<code>tickets:write</code>" in html.split("Last used")[1]
