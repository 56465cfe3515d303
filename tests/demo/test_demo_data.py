"""`manage.py demo_data`: the organisation `make run` shows, and its benchmark-sized variant."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import AIIdentity, Campaign, ClaimState, Environment, OwnershipClaim, OwnerRole, Status
from inventory.selectors import (
    attestation_overdue_q,
    attestations_asked_of,
    campaign_progress,
    claim_list,
    orphaned_q,
    orphaned_to_claim,
)
from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks.events import wanted
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from nhiportal.people.roles import is_reviewer, is_security_admin, roles_of


def test_it_creates_the_personas_with_the_demo_password(db):
    call_command("demo_data", "--identities", "6")
    User = get_user_model()
    for username in ["alice", "bob", "rita", "carol", "sam"]:
        assert User.objects.get(username=username).check_password("demo-pass-2026")
    assert is_reviewer(User.objects.get(username="rita"))
    assert roles_of(User.objects.get(username="carol")) == {"compliance"}
    sam = User.objects.get(username="sam")
    assert sam.is_superuser and is_security_admin(sam)
    assert User.objects.filter(is_active=False).count() == 2
    assert User.objects.count() >= 15


def test_it_builds_a_believable_inventory(db):
    call_command("demo_data")
    identities = AIIdentity.objects.all()
    assert identities.count() == 48
    assert {"invoice-triage-agent", "support-copilot", "nightly-etl-loader", "github-mcp-server"} <= set(
        identities.values_list("name", flat=True)
    )
    assert set(identities.values_list("status", flat=True)) == set(Status.values)
    assert len(set(identities.values_list("kind", flat=True))) == 4
    assert len(set(identities.values_list("environment", flat=True))) >= 3
    assert identities.filter(attestation_overdue_q()).exists()
    assert identities.filter(orphaned_q()).count() >= 2
    assert identities.filter(ownerships__person__username="alice").count() >= 5
    # The token side made activation possible: every identity that got that far holds a credential.
    assert not identities.filter(status=Status.ACTIVE, credentials__isnull=True).exists()


def test_it_records_the_history_through_the_services(db):
    call_command("demo_data", "--identities", "24")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"identity.register", "identity.activate", "identity.suspend", "identity.offboard"} <= actions
    call_command("audit_verify")


def test_it_does_nothing_if_identities_exist_and_asked_to(alice, make_identity, capsys):
    make_identity(alice)
    call_command("demo_data", "--if-empty")
    assert AIIdentity.objects.count() == 1
    assert "no demo data added" in capsys.readouterr().out


def test_it_refuses_to_add_the_demo_twice(db):
    call_command("demo_data", "--identities", "3")
    with pytest.raises(CommandError, match="exist already"):
        call_command("demo_data", "--identities", "3")
    assert AIIdentity.objects.count() == 3


def test_it_bulk_inserts_beyond_the_history_limit_with_a_valid_chain(db):
    call_command("demo_data", "--identities", "30", "--with-history", "10")
    assert AIIdentity.objects.count() == 30
    summary = AuditEvent.objects.get(action="identity.bulk_register")
    assert summary.after["count"] == 20
    call_command("audit_verify")
    # Bulk identities are owned like any other: their owners see them through the API.
    owner = AIIdentity.objects.filter(name__endswith="-29").get().ownerships.get(role="primary").person
    client = Client()
    client.force_login(owner)
    names = [row["name"] for row in client.get(reverse("api:identity-list"), {"q": "-29"}).json()["results"]]
    assert any(name.endswith("-29") for name in names)


def test_bob_claims_an_orphan_and_it_waits_for_rita(db):
    call_command("demo_data", verbosity=0)
    User = get_user_model()
    bob, rita, alice = (User.objects.get(username=u) for u in ("bob", "rita", "alice"))

    # bob's claim waits: it is what rita's "Waiting for me" and the sidebar badge show.
    waiting = OwnershipClaim.objects.get(state=ClaimState.PENDING)
    assert waiting.claimant == bob and "handed" in waiting.reason
    assert list(claim_list(user=rita, view="waiting")) == [waiting]
    orphan = orphaned_to_claim(bob).get(pk=waiting.identity_id)  # still orphaned until a reviewer decides
    assert orphan.claimed_by_me and orphan.pending_claims == 1
    # The second orphan's claim ended: alice owns it now, its leaver stays on as a backup.
    approved = OwnershipClaim.objects.get(state=ClaimState.APPROVED)
    assert approved.claimant == alice and approved.decided_by == rita and approved.decision_reason
    owners = {o.person.username: (o.role, o.person.is_active) for o in approved.identity.ownerships.select_related("person")}
    assert owners.pop("alice") == (OwnerRole.PRIMARY, True)
    [(leaver, (role, active))] = owners.items()
    assert role == OwnerRole.BACKUP and not active
    # Each story is about a different leaver's identity.
    assert not waiting.identity.ownerships.filter(person__username=leaver).exists()
    # The other orphans are left for someone to claim.
    assert AIIdentity.objects.filter(orphaned_q()).count() >= 2
    assert OwnershipClaim.objects.count() == 2
    # `make run` calls it again each time: nothing more is claimed.
    call_command("demo_data", "--if-empty", verbosity=0)
    assert OwnershipClaim.objects.count() == 2
    call_command("audit_verify", verbosity=0)


def test_a_demo_without_orphans_has_no_claims(db):
    call_command("demo_data", "--identities", "6", verbosity=0)
    assert not AIIdentity.objects.filter(orphaned_q()).exists()
    assert not OwnershipClaim.objects.exists()


def test_rita_runs_a_production_campaign_its_owners_answer_in_part(db):
    call_command("demo_data", verbosity=0)
    User = get_user_model()
    alice, bob, rita = (User.objects.get(username=u) for u in ("alice", "bob", "rita"))
    today = timezone.localdate()

    running = Campaign.objects.get(closed_at__isnull=True)
    assert running.launched_by == rita and running.environment == Environment.PRODUCTION and running.kind == ""
    assert running.due == today + timedelta(days=10) and running.instructions
    asked = running.items.select_related("identity")
    assert asked.exists() and all(item.identity.environment == Environment.PRODUCTION for item in asked)
    # Partial progress: some answered, some waiting, some with nobody left to answer.
    progress = campaign_progress(running, rita)
    assert 0 < progress["attested"] < progress["total"] and progress["without_owner"] > 0
    answered = asked.filter(attestation__isnull=False).select_related("attestation__person")
    for item in answered:  # each answer is an owner's ordinary attestation, after the launch
        assert item.identity.ownerships.filter(person=item.attestation.person).exists()
        assert item.attestation.attested_at >= running.launched_at
    assert answered.filter(attestation__person=alice).exists()
    # alice still has something to answer: the campaigns page shows it as "Asked of you".
    assert attestations_asked_of(alice).filter(campaign=running).exists()
    assert attestations_asked_of(bob).exists()
    # The dashboard keeps overdue work.
    assert AIIdentity.objects.filter(attestation_overdue_q()).exists()
    client = Client()
    client.force_login(rita)
    page = client.get(f"/campaigns/{running.pk}/").content.decode()
    assert running.name in page and f"{round(100 * progress['attested'] / progress['total'])}% attested" in page

    # An older campaign, on staging, ran before it and was closed with some identities missed.
    closed = Campaign.objects.get(closed_at__isnull=False)
    assert closed.environment == Environment.STAGING and closed.launched_by == rita and closed.closed_by_label == "rita"
    assert closed.launched_at < closed.closed_at < running.launched_at and closed.due < today
    before = campaign_progress(closed, rita)
    assert 0 < before["attested"] < before["total"]
    for item in closed.items.filter(attestation__isnull=False).select_related("attestation"):
        assert closed.launched_at <= item.attestation.attested_at <= closed.closed_at
        item.identity.refresh_from_db()
        assert item.identity.last_attested_at == item.attestation.attested_at
        assert item.identity.attestation_due > today  # answered in time, next due later
    assert AuditEvent.objects.filter(action="campaign.launch").count() == 2
    assert AuditEvent.objects.filter(action="campaign.close").count() == 1

    # `make run` calls it again each time: no campaign is added, nothing more is answered.
    attested = running.items.filter(attestation__isnull=False).count()
    call_command("demo_data", "--if-empty", verbosity=0)
    assert Campaign.objects.count() == 2 and running.items.filter(attestation__isnull=False).count() == attested
    call_command("audit_verify", verbosity=0)


def test_a_tiny_demo_launches_what_it_can_and_an_empty_one_nothing(db):
    call_command("demo_data", "--identities", "0", verbosity=0)
    assert not Campaign.objects.exists()  # nothing in scope: no campaign, and no error

    call_command("demo_data", "--identities", "6", "--seed", "1", verbosity=0)
    assert Campaign.objects.exists()
    rita = get_user_model().objects.get(username="rita")
    for campaign in Campaign.objects.all():
        progress = campaign_progress(campaign, rita)
        assert 0 < progress["total"] and progress["attested"] < progress["total"]
    call_command("audit_verify", verbosity=0)


def test_an_access_review_of_the_busiest_service_waits_for_rita(db):
    from tokens.access_reviews import may_decide, progress
    from tokens.models import AccessReview

    call_command("demo_data")
    review = AccessReview.objects.get()
    counts = progress(review)
    assert review.is_open and counts["kept"] >= 1 and counts["waiting"] >= 1
    rita = get_user_model().objects.get(username="rita")
    assert any(may_decide(rita, item) for item in review.items.select_related("grant__service", "review"))
    assert AuditEvent.objects.filter(action="access_review.launch").count() == 1


def test_the_demo_has_an_agent_that_reached_its_token_rate_limit(db):
    from tokens.models import TokenPace
    from tokens.policy.models import PolicyDecision

    call_command("demo_data")
    (slowed,) = TokenPace.objects.filter(slowed_at__isnull=False)
    assert AIIdentity.objects.get(pk=slowed.identity_id).token_rate_per_minute == 3
    assert PolicyDecision.objects.filter(identity_id=slowed.identity_id, policy_ids=["portal:rate-limit"]).count() == 1


def test_the_siems_webhook_is_down_and_its_first_delivery_failed(db, client_for):
    """sam finds a failing receiver on /webhooks/: one refused delivery of a credential event,
    its queue backed off, and Redeliver on offer."""
    call_command("demo_data", "--identities", "6")
    siem = WebhookEndpoint.objects.get()
    assert siem.enabled and siem.failures == 1 and siem.next_attempt_at is not None
    [failed] = WebhookDelivery.objects.filter(endpoint=siem)
    assert failed.status_code is None and "Connection refused" in failed.error
    assert wanted(failed.action, siem.categories)
    page = client_for(get_user_model().objects.get(username="sam")).get(f"/webhooks/{siem.pk}/deliveries/{failed.pk}/")
    assert page.status_code == 200 and f"/deliveries/{failed.pk}/redeliver/" in page.content.decode()
