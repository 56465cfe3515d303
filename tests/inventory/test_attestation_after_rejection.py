"""A rejection means something: after a reviewer rejects an attestation, an owner's next one
counts (moves the due date and the last attestation) only once a reviewer confirms it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.attestation_reviews import attestation_confirm, attestation_reject, rejections_notify, waiting_notify
from inventory.campaigns import campaign_launch
from inventory.lapses import lapses_review
from inventory.models import AIIdentity, Attestation, AttestationReview, Status
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from inventory.services import TransitionRefused, identity_activate, identity_attest, identity_reactivate

REASON = "It holds contacts:write, yet its purpose says it only reads."


@pytest.fixture
def agent(make_identity, alice):
    return identity_activate(actor=alice, identity=make_identity(alice, name="crm-summariser"), reason="go-live")


@pytest.fixture
def rejected(agent, alice, rita):
    """alice attested, rita rejected it: the identity is due today."""
    first = identity_attest(actor=alice, identity=agent, note="first")
    return attestation_reject(actor=rita, attestation=first, reason=REASON)


def api(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def stored(identity):
    return AIIdentity.objects.get(pk=identity.pk)


def test_attesting_again_at_once_does_not_undo_a_rejection(agent, alice, rita, client_for):
    # The penetration test's steps, through the API.
    owner, reviewer = client_for(alice), client_for(rita)
    assert api(owner, f"/api/v1/identities/{agent.pk}/attest/").status_code == 200
    first = Attestation.objects.get(identity=agent)
    assert api(reviewer, f"/api/v1/attestations/{first.pk}/reject/", {"reason": REASON}).status_code == 200
    today = timezone.localdate()
    assert stored(agent).attestation_due == today and stored(agent).last_attested_at is None

    answer = api(owner, f"/api/v1/identities/{agent.pk}/attest/", {"reason": "Fixed the scopes."})

    assert answer.status_code == 200
    body = answer.json()
    assert body["attestation_due"] == today.isoformat() and body["last_attested_at"] is None
    again = Attestation.objects.get(identity=agent, review=AttestationReview.PENDING)
    review = body["attestation_review"]
    assert review["counts_once_confirmed"] is True
    assert review["waiting"]["id"] == again.pk and review["waiting"]["attested_by"] == "alice"
    assert review["rejection"]["id"] == first.pk and review["rejection"]["reason"] == REASON
    assert review["rejection"]["reviewed_by"] == "rita"
    assert "waits for a reviewer" in review["detail"] and "last one was rejected" in review["detail"]
    # Again and again: still nothing moves.
    api(owner, f"/api/v1/identities/{agent.pk}/attest/")
    assert stored(agent).attestation_due == today


def test_the_confirmation_then_moves_the_due_date_and_the_last_attestation(rejected, agent, alice, rita, audit_actions_during):
    again, actions = audit_actions_during(lambda: identity_attest(actor=alice, identity=agent, note="Fixed the scopes."))
    assert actions == ["identity.attest"]
    assert again.standing_rejection == rejected
    event = AuditEvent.objects.filter(action="identity.attest").latest("id")
    assert event.after["counts_once_confirmed"] is True and event.after["rejected_attestation"] == rejected.pk

    _, actions = audit_actions_during(lambda: attestation_confirm(actor=rita, attestation=again))

    assert actions == ["attestation.confirm"]
    identity = stored(agent)
    assert identity.last_attested_at == again.attested_at
    assert identity.attestation_due == (again.attested_at + timedelta(days=identity.attestation_interval_days)).date()
    event = AuditEvent.objects.get(action="attestation.confirm")
    assert event.before["attestation_due"] == timezone.localdate().isoformat()
    assert event.after["attestation_due"] == identity.attestation_due.isoformat()


def test_an_attestation_counts_at_once_when_no_rejection_stands(rejected, agent, alice, rita):
    # Once a confirmation is the latest review, the rule is the ordinary one again.
    attestation_confirm(actor=rita, attestation=identity_attest(actor=alice, identity=agent))
    Attestation.objects.update(attested_at=timezone.now() - timedelta(days=30))
    later = identity_attest(actor=alice, identity=agent)
    assert later.standing_rejection is None
    identity = stored(agent)
    assert identity.last_attested_at == later.attested_at
    assert identity.attestation_due == (later.attested_at + timedelta(days=identity.attestation_interval_days)).date()


def test_rejecting_the_attestation_made_after_a_rejection_leaves_the_last_attestation_as_it_was(agent, alice, rita):
    counted = identity_attest(actor=alice, identity=agent, note="counted")
    attestation_confirm(actor=rita, attestation=counted)
    attestation_reject(actor=rita, attestation=identity_attest(actor=alice, identity=agent), reason=REASON)
    assert stored(agent).last_attested_at == counted.attested_at
    held = identity_attest(actor=alice, identity=agent)
    attestation_reject(actor=rita, attestation=held, reason="Still holds contacts:write.")
    identity = stored(agent)
    assert identity.last_attested_at == counted.attested_at and identity.attestation_due == timezone.localdate()
    # And the next one still waits for a confirmation.
    assert identity_attest(actor=alice, identity=agent).standing_rejection is not None


def test_the_sweep_suspends_it_unless_the_attestation_is_confirmed_in_time(rejected, agent, alice, rita, settings):
    held = identity_attest(actor=alice, identity=agent, note="Fixed the scopes.")
    # Arrange: the rejection (which made it due that day) was longer ago than the grace period.
    lapsed = timezone.localdate() - timedelta(days=settings.NHI["ATTESTATION_GRACE_DAYS"] + 1)
    AIIdentity.objects.filter(pk=agent.pk).update(attestation_due=lapsed)

    assert lapses_review(actor=system_actor("tests"))["suspended"] == 1

    identity = stored(agent)
    assert identity.status == Status.SUSPENDED
    with pytest.raises(TransitionRefused):
        identity_reactivate(actor=alice, identity=identity)
    attestation_confirm(actor=rita, attestation=held)
    assert identity_reactivate(actor=alice, identity=stored(agent)).status == Status.ACTIVE


def test_a_campaign_launched_meanwhile_still_bounds_the_due_date_when_it_is_confirmed(rejected, agent, alice, rita):
    held = identity_attest(actor=alice, identity=agent)
    asked_by = timezone.localdate() + timedelta(days=10)
    campaign_launch(actor=rita, name="Q4", due=asked_by)
    attestation_confirm(actor=rita, attestation=held)
    assert stored(agent).attestation_due == asked_by


def test_the_attestation_page_says_it_counts_once_confirmed(rejected, agent, alice, rita, client_for):
    held = identity_attest(actor=alice, identity=agent)
    for person in (alice, rita):
        page = client_for(person).get(f"/attestations/{held.pk}/").content.decode()
        assert "counts once a reviewer confirms it" in page
    first_page = client_for(alice).get(f"/attestations/{rejected.pk}/").content.decode()
    assert "counts once a reviewer confirms it" in first_page  # the rejection says what comes next


def test_an_ordinary_attestation_page_says_nothing_of_it(agent, alice, client_for):
    attestation = identity_attest(actor=alice, identity=agent)
    assert "counts once a reviewer confirms it" not in client_for(alice).get(f"/attestations/{attestation.pk}/").content.decode()


def test_owners_read_that_their_next_attestation_waits_and_reviewers_that_it_came_after_a_rejection(rejected, agent, alice, rita):
    rejections_notify(actor=system_actor("tests"))
    assert "counts once a reviewer confirms it" in mail.outbox[0].body
    mail.outbox.clear()
    identity_attest(actor=alice, identity=agent)
    waiting_notify(actor=system_actor("tests"))
    digest = next(m for m in mail.outbox if m.to == [rita.email])
    assert "attested crm-summariser after a rejection (it counts once confirmed)" in digest.body


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured.captured_queries)


def test_the_identity_list_reads_every_standing_in_a_fixed_number_of_queries(rejected, agent, alice, make_identity, client_for):
    client = client_for(alice)
    client.get("/api/v1/identities/")
    few = queries(client, "/api/v1/identities/")
    for n in range(5):
        identity = identity_activate(actor=alice, identity=make_identity(alice, name=f"more-{n}"))
        identity_attest(actor=alice, identity=identity)
    assert queries(client, "/api/v1/identities/") == few
    standing = {i["name"]: i["attestation_review"] for i in client.get("/api/v1/identities/").json()["results"]}
    assert standing["crm-summariser"]["counts_once_confirmed"] is True
    assert standing["more-0"]["waiting"] is not None and standing["more-0"]["counts_once_confirmed"] is False


def test_the_owner_is_told_on_the_identity_page_that_the_attestation_waits_after_a_rejection(rejected, agent, client_for, alice):
    page = f"/identities/{agent.pk}/"
    before = client_for(alice).get(page)
    assert b"Put that right, then attest again: that attestation counts once a reviewer confirms it." in before.content
    response = client_for(alice).post(f"/identities/{agent.pk}/attest/", {"note": "Dropped contacts:write."}, follow=True)
    assert b"A reviewer rejected the last attestation, so this one waits for a reviewer" in response.content
    # The rejection still stands on the page after the new attestation, with the one that waits.
    assert b"waits for a reviewer: since the last one was rejected" in response.content


def test_an_ordinary_attestation_says_when_the_next_is_due(agent, client_for, alice):
    response = client_for(alice).post(f"/identities/{agent.pk}/attest/", {"note": "Still needed."}, follow=True)
    assert b"Attested crm-summariser. The next attestation is due" in response.content


def test_an_overdue_identity_after_a_rejection_is_kept_active_only_by_a_confirmed_attestation(rejected, agent, client_for, alice):
    AIIdentity.objects.filter(pk=agent.pk).update(attestation_due=timezone.localdate() - timedelta(days=3))
    page = client_for(alice).get(f"/identities/{agent.pk}/").content.decode()
    assert "Unless a reviewer confirms an owner's attestation, the identity is suspended on" in page
    assert "Unless an owner attests" not in page
