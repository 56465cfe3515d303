"""Offboarding, before and after: the confirmation page counts what it will end, in the words
the identity page uses afterwards; an offboarded identity shows no live-looking warning and no
attestation due date, on its page and in the list."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import AIIdentity
from inventory.services import identity_activate, identity_offboard
from nhiportal.audit.models import AuditEvent
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)
from tokens.access_requests import access_request_create
from tokens.delegations import delegation_create


def page(name, identity):
    return reverse(f"inventory:{name}", args=[identity.pk])


def ends_listed(body: str) -> str:
    return body.split('id="offboarding-ends"', 1)[1].split("</ul>", 1)[0]


def test_the_offboard_page_counts_what_it_will_end_and_the_event_records_the_same(alice, sam, client_for, make_agent, agent, crm, get_token, grant):
    get_token(agent)
    get_token(agent)  # two live tokens, each in its task; the grant is the one the first asked for
    helper = make_agent(name="helper-agent")
    delegation_create(actor=alice, principal=agent.identity, delegate_id=str(helper.identity.pk), reason="It drafts for it.")
    access_request_create(
        actor=alice, identity=agent.identity, service=crm, scopes=["customers:export"],
        ends_at=timezone.now() + timedelta(days=7), justification="Monthly export.",
    )
    body = client_for(alice).get(page("identity-offboard", agent.identity)).content.decode()
    listed = ends_listed(body)
    for told in (
        "<strong>2 live tokens</strong> are revoked", "<strong>2 open tasks</strong> are ended", "<strong>1 access grant</strong> is revoked",
        "<strong>1 workload credential</strong> is disabled", "<strong>1 delegation</strong> is ended",
        "<strong>1 access request</strong> still waiting is cancelled",
    ):
        assert told in listed, told
    assert "removed" not in body

    response = client_for(alice).post(
        page("identity-offboard", agent.identity),
        {"version": AIIdentity.objects.get(pk=agent.identity.pk).version, "reason": "Retired", "confirm_name": agent.identity.name},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="identity.offboard")
    assert {k: event.after[k] for k in ("tokens_revoked", "tasks_ended", "grants_revoked", "credentials_disabled", "delegations_ended", "access_requests_cancelled")} == {
        "tokens_revoked": 2, "tasks_ended": 2, "grants_revoked": 1, "credentials_disabled": 1, "delegations_ended": 1, "access_requests_cancelled": 1,
    }


def test_the_offboard_page_leaves_out_what_it_holds_none_of(alice, client_for, make_identity):
    body = client_for(alice).get(page("identity-offboard", make_identity(alice))).content.decode()
    listed = ends_listed(body)
    assert "no live token to revoke" in listed and "no open task to end" in listed and "no access grant to revoke" in listed
    assert "delegation" not in listed and "access request" not in listed


def test_an_offboarded_identity_shows_no_network_warning_and_no_due_date(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    due = AIIdentity.objects.get(pk=identity.pk).attestation_due
    live = client_for(alice).get(page("identity-detail", identity)).content.decode()
    assert "a leaked key works from anywhere" in live and f"{due:%Y-%m-%d}" in live

    identity_offboard(actor=alice, identity=identity, reason="Retired")
    body = client_for(alice).get(page("identity-detail", identity)).content.decode()
    assert "a leaked key works from anywhere" not in body
    assert "None set; offboarded, it obtains no token from anywhere" in body
    assert f"{due:%Y-%m-%d}" not in body
    assert "None: offboarded identities are not attested" in body


def test_the_list_shows_no_attestation_due_date_for_offboarded_identities(alice, client_for, make_identity):
    live = identity_activate(actor=alice, identity=make_identity(alice, name="live-agent"))
    gone = identity_offboard(actor=alice, identity=identity_activate(actor=alice, identity=make_identity(alice, name="gone-agent")), reason="Retired")
    AIIdentity.objects.filter(pk=gone.pk).update(attestation_due=timezone.localdate() + timedelta(days=200))
    body = client_for(alice).get(reverse("inventory:identity-list")).content.decode()
    rows = {name: row for row in body.split("<tr>")[2:] for name in ("live-agent", "gone-agent") if f">{name}</a>" in row}
    due = AIIdentity.objects.get(pk=live.pk).attestation_due
    assert f'<td data-label="Attestation due" class="nowrap">{due:%Y-%m-%d}</td>' in rows["live-agent"]
    gone_due = f"{timezone.localdate() + timedelta(days=200):%Y-%m-%d}"
    assert gone_due not in rows["gone-agent"] and 'title="Offboarded identities are not attested">—' in rows["gone-agent"]


@pytest.mark.parametrize("persona", ["alice", "carol"])
def test_each_list_cell_is_named_for_the_phone_cards(persona, request, alice, client_for, make_identity):
    make_identity(alice)
    body = client_for(request.getfixturevalue(persona)).get(reverse("inventory:identity-list")).content.decode()
    assert '<table class="row-cards sort-heads">' in body
    row = body.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    labels = [label for label in ("Name", "Kind", "Status", "Risk", "Environment", "Primary owner", "Attestation due", "Registered")]
    assert [f'data-label="{label}"' in row for label in labels] == [True] * len(labels)
    # Besides the named cells, only the bulk actions' checkbox (owners', not compliance's), named by its own label.
    picks = row.count('<td class="pick">')
    assert row.count("<td") - picks == len(labels) and picks == (persona == "alice")
    assert picks == 0 or 'aria-label="Choose ' in row
