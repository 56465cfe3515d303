"""The dashboard: counts, chart, orphans, attestations and recent activity, all within what the person may see."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from inventory.charts import Bar, bar_chart
from inventory.models import AIIdentity
from inventory.services import identity_activate, identity_offboard, identity_update

DASHBOARD = reverse("inventory:dashboard")


def test_it_counts_by_status_what_the_person_may_see(alice, bob, client_for, make_identity):
    identity_activate(actor=alice, identity=make_identity(alice))
    make_identity(alice)
    identity_offboard(actor=bob, identity=make_identity(bob), reason="Done")
    response = client_for(alice).get(DASHBOARD)
    assert dict((s.value, n) for s, n in response.context["status_cards"]) == {
        "registered": 1,
        "active": 1,
        "suspended": 0,
        "offboarded": 0,
    }
    assert response.context["total"] == 2


def test_it_draws_the_chart_with_css_classes_and_no_inline_style(sam, alice, client_for, make_identity):
    identity_activate(actor=alice, identity=make_identity(alice))
    body = client_for(sam).get(DASHBOARD).content.decode()
    svg = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    assert 'class="fill-active"' in svg and 'class="fill-registered"' in svg
    assert "style" not in svg and "<script" not in svg


def test_the_chart_scales_bars_to_the_largest_and_escapes_labels(db):
    svg = bar_chart([Bar("<b>big</b>", 10, "fill-active"), Bar("half", 5, "fill-brand"), Bar("none", 0, "fill-deny")], title="T")
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert "&lt;b&gt;big&lt;/b&gt;" in svg and "<b>" not in svg


def test_the_chart_draws_an_empty_inventory(db):
    assert 'width="0"' in bar_chart([Bar("active", 0, "fill-active")], title="Nothing yet")


def test_it_lists_identities_without_an_active_owner(alice, bob, sam, client_for, make_identity):
    orphan = make_identity(bob, name="orphan-agent")
    make_identity(alice, name="owned-agent")
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    response = client_for(sam).get(DASHBOARD)
    assert response.context["orphaned_count"] == 1
    body = response.content.decode()
    assert reverse("inventory:identity-detail", args=[orphan.pk]) in body
    assert f'{reverse("inventory:identity-list")}?orphaned=true' in body


def test_it_shows_attestations_overdue_and_due_soon_and_when_a_lapse_suspends(alice, client_for, make_identity, settings):
    today = timezone.localdate()
    due = {"overdue": today - timedelta(days=3), "soon": today + timedelta(days=10), "later": today + timedelta(days=60)}
    for name, when in due.items():
        identity = identity_activate(actor=alice, identity=make_identity(alice, name=name))
        AIIdentity.objects.filter(pk=identity.pk).update(attestation_due=when)
    response = client_for(alice).get(DASHBOARD)
    assert (response.context["overdue_count"], response.context["due_soon_count"]) == (1, 1)
    assert [i.name for i in response.context["due"]] == ["overdue", "soon"]
    html = response.content.decode()
    assert f'{reverse("inventory:identity-list")}?attestation_overdue=true' in html
    lapse = due["overdue"] + timedelta(days=settings.NHI["ATTESTATION_GRACE_DAYS"] + 1)
    assert f"suspended {lapse:%Y-%m-%d} unless attested" in html
    AIIdentity.objects.filter(name="overdue").update(status="suspended")
    html = client_for(alice).get(DASHBOARD).content.decode()
    assert "unless attested" not in html and '<span class="badge badge-suspended">suspended</span>' in html


def test_it_shows_an_owner_the_recent_activity_of_their_identities_only(alice, bob, client_for, make_identity):
    mine = make_identity(alice, name="alice-agent")
    make_identity(bob, name="bob-agent")
    identity_update(actor=alice, identity=mine, expected_version=1, purpose="Changed.")
    recent = client_for(alice).get(DASHBOARD).context["recent"]
    assert recent and {e.identity_id for e in recent} == {mine.pk}
    assert recent[0].action == "identity.update"


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_it_shows_the_latest_ten_events_to_those_who_read_everything(persona, request, alice, client_for, make_identity):
    for _ in range(6):
        make_identity(alice)
    recent = client_for(request.getfixturevalue(persona)).get(DASHBOARD).context["recent"]
    assert len(recent) == 10
    assert [e.id for e in recent] == sorted((e.id for e in recent), reverse=True)


def test_it_shows_an_outsider_nothing(alice, charlie, client_for, make_identity):
    make_identity(alice, name="secret-agent")
    response = client_for(charlie).get(DASHBOARD)
    assert response.status_code == 200
    assert response.context["total"] == 0
    assert response.context["recent"] == []
    assert b"secret-agent" not in response.content


def test_it_sends_anonymous_visitors_to_log_in(client):
    assert client.get(DASHBOARD).status_code == 302


def test_the_dashboard_says_what_waits_for_the_persons_decision(alice, bob, rita, carol, make_identity, client_for):
    from inventory.claims import claim_create

    orphan = make_identity(alice, name="ledger-bot")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    claim_create(actor=bob, identity=orphan, reason="I took it over.")
    page = client_for(rita).get("/").content.decode()
    assert 'aria-label="Waiting for your decision"' in page and '?view=waiting">1 ownership claim</a>' in page
    assert "Waiting for your decision" not in client_for(carol).get("/").content.decode()  # compliance decides nothing


def test_none_without_an_active_owner_is_good_news_and_some_a_warning(alice, bob, sam, client_for, make_identity):
    make_identity(alice, name="owned-agent")
    assert '<span class="badge badge-ok">0</span>' in client_for(sam).get(DASHBOARD).content.decode()
    make_identity(bob, name="orphan-agent")
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    assert '<span class="badge badge-orphaned">1</span>' in client_for(sam).get(DASHBOARD).content.decode()


# "My access requests": the owner's own, waiting or lately decided, each with its state and a link.


@pytest.fixture
def exports_service(sam, bob):
    from tokens.services import service_create

    return service_create(
        actor=sam, name="Exports", audience="https://exports.example.com", owner=bob, trust_boundary="corp-internal",
        scopes=["exports:create", "exports:read"],
    )


def _ask(actor, identity, service, scopes):
    from tokens.access_requests import access_request_create

    return access_request_create(
        actor=actor, identity=identity, service=service, scopes=scopes, ends_at=timezone.now() + timedelta(days=14),
        justification="Exports the weekly report.",
    )


def test_an_owner_sees_their_recent_access_requests_with_their_state_and_a_link(alice, bob, rita, client_for, make_identity, exports_service):
    from tokens.access_requests import access_request_cancel, access_request_reject
    from tokens.models import AccessRequest

    mine = make_identity(alice, name="report-agent")
    other = make_identity(alice, name="ledger-agent")
    waiting = _ask(alice, mine, exports_service, ["exports:create"])
    refused = access_request_reject(actor=rita, access_request=_ask(alice, other, exports_service, ["exports:read"]), reason="Use the read replica.")
    old = access_request_cancel(actor=alice, access_request=_ask(alice, other, exports_service, ["exports:create"]))
    AccessRequest.objects.filter(pk=old.pk).update(decided_at=timezone.now() - timedelta(days=40))
    theirs = _ask(bob, make_identity(bob, name="bobs-agent"), exports_service, ["exports:read"])

    body = client_for(alice).get(DASHBOARD).content.decode()
    card = body.split('aria-label="My access requests"', 1)[1].split("</section>", 1)[0]
    assert '<span class="badge badge-info">1 waiting</span>' in card
    assert f'<a href="/access-requests/{waiting.pk}/">#{waiting.pk} report-agent on Exports</a>' in card
    assert f'<span class="badge badge-{waiting.state}">{escape(waiting.get_state_display())}</span>' in card
    assert f'<a href="/access-requests/{refused.pk}/">#{refused.pk} ledger-agent on Exports</a>' in card
    assert '<span class="badge badge-rejected">Rejected</span>' in card and f"decided {timezone.now():%Y-%m-%d}" in card
    assert f"/access-requests/{old.pk}/" not in card  # decided 40 days ago
    assert f"/access-requests/{theirs.pk}/" not in card  # bob's
    assert card.index(f"#{refused.pk} ") < card.index(f"#{waiting.pk} ")  # newest first
    assert 'href="/access-requests/?view=mine">All your access requests</a>' in card


def test_an_owner_who_asked_for_nothing_lately_is_pointed_to_asking(alice, client_for, make_identity):
    make_identity(alice)
    body = client_for(alice).get(DASHBOARD).content.decode()
    card = body.split('aria-label="My access requests"', 1)[1].split("</section>", 1)[0]
    assert "Nothing you asked for waits" in card and 'href="/access-requests/new/"' in card


def test_those_who_asked_for_nothing_and_own_nothing_see_no_such_card(rita, carol, client_for):
    for person in (rita, carol):
        assert 'aria-label="My access requests"' not in client_for(person).get(DASHBOARD).content.decode()


def test_recent_activity_reads_actions_as_the_audit_log_labels_them_with_the_code_as_a_tooltip(alice, sam, client_for, make_identity):
    from tokens.exposures import exposure_report_credential

    leaky = make_identity(alice, name="leaky-bot")
    exposure_report_credential(actor=alice, credential=leaky.credentials.get(), where_found="a public gist")
    page = client_for(sam).get(DASHBOARD).content.decode()
    recent = page.split('aria-label="Recent activity"', 1)[1].split("</section>", 1)[0]
    assert '<span title="exposure.report">Leak report: filed</span>' in recent
    assert '<span title="identity.register">Identity: register</span>' in recent
    assert "<code>" not in recent


def test_recent_activity_names_the_agent_that_acted_only_where_the_viewer_sees_it(alice, bob, sam, client_for, make_identity):
    from django.db import transaction

    from nhiportal.audit.services import agent_actor, audit_record

    mine = make_identity(alice, name="alice-agent")
    delegate = make_identity(bob, name="bob-delegate")
    with transaction.atomic():
        audit_record(actor=agent_actor(str(mine.pk)), action="token.issue", object_type="tokens.issuedtoken",
                     object_id="jti-1", object_repr="token jti-1", identity=mine.pk)
        # bob's agent acting for alice's (a delegation): its name is not alice's to learn.
        audit_record(actor=agent_actor(str(delegate.pk)), action="token.exchange", object_type="tokens.issuedtoken",
                     object_id="jti-2", object_repr="token jti-2", identity=mine.pk)

    def recent(person):
        page = client_for(person).get(DASHBOARD).content.decode()
        return page.split('aria-label="Recent activity"', 1)[1].split("</section>", 1)[0]

    alices = recent(alice)
    assert f'<span title="agent:{mine.pk}">agent alice-agent</span>' in alices
    assert f"agent:{delegate.pk}" in alices and "bob-delegate" not in alices
    assert f'<span title="agent:{delegate.pk}">agent bob-delegate</span>' in recent(sam)
