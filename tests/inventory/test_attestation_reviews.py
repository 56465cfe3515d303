"""Attestation reviews: a reviewer who does not own the identity confirms or rejects an owner's attestation."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from inventory.attestation_reviews import attestation_confirm, attestation_reject
from inventory.campaigns import campaign_launch
from inventory.models import AIIdentity, Attestation, AttestationReview, CampaignItem
from inventory.selectors import attestation_list
from inventory.services import identity_activate, identity_attest, identity_offboard, identity_owners_set
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.people.roles import OWNER, REVIEWER
from nhiportal.people.services import role_assign
from tests.conftest import _person

REASON = "It holds contacts:write, yet its purpose says it only reads."


@pytest.fixture
def agent(make_identity, alice):
    identity = make_identity(alice, name="crm-summariser")
    return identity_activate(actor=alice, identity=identity, reason="go-live")


@pytest.fixture
def attestation(agent, alice):
    return identity_attest(actor=alice, identity=agent, note="Still summarises the CRM every night.")


def test_a_new_attestation_waits_for_a_review(attestation):
    assert attestation.review == AttestationReview.PENDING


def test_a_reviewer_confirms_and_the_due_date_stands(attestation, agent, rita, audit_actions_during):
    due = AIIdentity.objects.get(pk=agent.pk).attestation_due
    done, actions = audit_actions_during(lambda: attestation_confirm(actor=rita, attestation=attestation, reason="Checked the grants."))
    assert done.review == AttestationReview.CONFIRMED and done.reviewed_by == rita and done.review_reason == "Checked the grants."
    assert actions == ["attestation.confirm"]
    assert AIIdentity.objects.get(pk=agent.pk).attestation_due == due


def test_a_rejection_makes_the_identity_due_today_and_the_attestation_no_longer_counts(agent, alice, rita, audit_actions_during):
    earlier = identity_attest(actor=alice, identity=agent, note="first")
    attestation_confirm(actor=rita, attestation=earlier)
    Attestation.objects.filter(pk=earlier.pk).update(attested_at=timezone.now() - timedelta(days=80))
    latest = identity_attest(actor=alice, identity=agent, note="second")
    assert AIIdentity.objects.get(pk=agent.pk).attestation_due > timezone.localdate()
    done, actions = audit_actions_during(lambda: attestation_reject(actor=rita, attestation=latest, reason=REASON))
    assert actions == ["attestation.reject"]
    identity = AIIdentity.objects.get(pk=agent.pk)
    assert done.review == AttestationReview.REJECTED and done.review_reason == REASON
    assert identity.attestation_due == timezone.localdate()
    assert identity.last_attested_at == Attestation.objects.get(pk=earlier.pk).attested_at  # the one that still stands
    event = AuditEvent.objects.get(action="attestation.reject")
    assert event.identity_id == agent.pk and event.reason == REASON


def test_a_rejection_reopens_the_open_campaign_items_it_answered(agent, alice, rita):
    campaign = campaign_launch(actor=rita, name="Q4", due=timezone.localdate() + timedelta(days=10))
    answer = identity_attest(actor=alice, identity=agent)
    assert CampaignItem.objects.get(campaign=campaign, identity=agent).attestation == answer
    attestation_reject(actor=rita, attestation=answer, reason=REASON)
    assert CampaignItem.objects.get(campaign=campaign, identity=agent).attestation is None


def test_a_rejection_needs_a_reason_and_changes_nothing_without_one(attestation, agent, rita):
    due = AIIdentity.objects.get(pk=agent.pk).attestation_due
    with pytest.raises(ValidationError) as refused:
        attestation_reject(actor=rita, attestation=attestation, reason="  ")
    assert "reason" in refused.value.message_dict
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING and AIIdentity.objects.get(pk=agent.pk).attestation_due == due
    assert not AuditEvent.objects.filter(action__startswith="attestation.").exists()


def test_owners_compliance_and_people_without_a_role_do_not_review(attestation, alice, bob, carol, charlie):
    for person in (alice, bob, carol, charlie):
        with pytest.raises(PermissionDenied):
            attestation_confirm(actor=person, attestation=attestation)
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


def test_a_reviewer_who_owns_the_identity_does_not_review_it(agent, alice, rita, sam):
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # only people with the owner role are made owners
    identity_owners_set(actor=alice, identity=agent, primary_owner=alice, backup_owners=[rita])
    attestation = identity_attest(actor=alice, identity=agent)
    with pytest.raises(PermissionDenied):
        attestation_confirm(actor=rita, attestation=attestation)
    assert attestation not in set(attestation_list(user=rita, view="waiting"))
    assert attestation_confirm(actor=sam, attestation=attestation).review == AttestationReview.CONFIRMED


def test_the_attester_never_reviews_their_own_attestation(agent, alice, sam):
    # sam, a security admin, owns the identity for a while, attests, then hands it back.
    identity_owners_set(actor=sam, identity=agent, primary_owner=alice, backup_owners=[sam])
    attestation = identity_attest(actor=sam, identity=agent)
    identity_owners_set(actor=sam, identity=agent, primary_owner=alice, backup_owners=[])
    with pytest.raises(PermissionDenied):
        attestation_confirm(actor=sam, attestation=attestation)


def test_a_later_attestation_supersedes_the_one_waiting(attestation, agent, alice, rita):
    later = identity_attest(actor=alice, identity=agent, note="Scope narrowed to read.")
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.SUPERSEDED and later.review == AttestationReview.PENDING
    assert list(attestation_list(user=rita, view="waiting")) == [later]
    with pytest.raises(ValidationError, match="superseded"):
        attestation_confirm(actor=rita, attestation=attestation)
    assert AuditEvent.objects.filter(action="identity.attest").order_by("id").last().after["attestations_superseded"] == 1


def test_offboarding_supersedes_the_attestation_waiting(attestation, agent, alice, rita):
    identity_offboard(actor=alice, identity=agent, reason="retired")
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.SUPERSEDED
    assert not attestation_list(user=rita, view="waiting").exists()


def test_a_reviewed_attestation_is_not_reviewed_twice(attestation, rita, sam):
    attestation_confirm(actor=rita, attestation=attestation)
    with pytest.raises(ValidationError, match="confirmed"):
        attestation_reject(actor=sam, attestation=attestation, reason=REASON)
    assert AuditEvent.objects.filter(action__startswith="attestation.").count() == 1


def test_owners_see_their_identities_attestations_and_no_one_elses(attestation, make_identity, bob, alice):
    other = identity_activate(actor=bob, identity=make_identity(bob), reason="go")
    theirs = identity_attest(actor=bob, identity=other)
    assert set(attestation_list(user=alice)) == {attestation}
    assert set(attestation_list(user=bob, view="mine")) == {theirs}
    assert not attestation_list(user=alice, view="waiting").exists()


# The pages


def test_a_reviewer_rejects_in_the_browser_and_the_owner_reads_why_on_the_identity_page(attestation, agent, rita, alice, client_for):
    listing = client_for(rita).get("/attestations/").content.decode()
    assert f"/attestations/{attestation.pk}/" in listing and "crm-summariser" in listing  # opens on "Waiting for me"
    page = client_for(rita).get(f"/attestations/{attestation.pk}/").content.decode()
    assert "Confirm the attestation" in page and "Still summarises the CRM every night." in page
    response = client_for(rita).post(f"/attestations/{attestation.pk}/", {"decision": "reject", "reject-reason": REASON})
    assert response.status_code == 302 and response["Location"] == f"/attestations/{attestation.pk}/"
    identity_page = client_for(alice).get(f"/identities/{agent.pk}/").content.decode()
    assert "rejected the attestation of" in identity_page and REASON in identity_page


def test_the_refusal_form_shows_the_missing_reason_next_to_the_field(attestation, rita, client_for):
    response = client_for(rita).post(f"/attestations/{attestation.pk}/", {"decision": "reject", "reject-reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


def test_a_reviewer_confirms_in_the_browser(attestation, rita, client_for):
    response = client_for(rita).post(f"/attestations/{attestation.pk}/", {"decision": "approve", "approve-reason": ""})
    assert response.status_code == 302
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.CONFIRMED
    assert "Confirmed by rita" in client_for(rita).get(f"/attestations/{attestation.pk}/").content.decode()


def test_the_owner_sees_the_attestation_but_cannot_review_it(attestation, alice, client_for):
    page = client_for(alice).get(f"/attestations/{attestation.pk}/")
    assert page.status_code == 200 and "Confirm the attestation" not in page.content.decode()
    assert client_for(alice).post(f"/attestations/{attestation.pk}/", {"decision": "approve"}).status_code == 403
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


def test_compliance_reads_but_cannot_review(attestation, carol, client_for):
    assert client_for(carol).get(f"/attestations/{attestation.pk}/").status_code == 200
    assert client_for(carol).post(f"/attestations/{attestation.pk}/", {"decision": "approve"}).status_code == 403


def test_outsiders_learn_nothing(attestation, bob, charlie, client_for):
    for person in (bob, charlie):
        assert client_for(person).get(f"/attestations/{attestation.pk}/").status_code == 404
        assert client_for(person).post(f"/attestations/{attestation.pk}/", {"decision": "approve"}).status_code == 404
        listing = client_for(person).get("/attestations/?view=all").content.decode()
        assert "crm-summariser" not in listing and "No attestations here" in listing
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


def test_anonymous_visitors_are_sent_to_sign_in(attestation, client):
    for url in ("/attestations/", f"/attestations/{attestation.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_navigation_and_dashboard_count_what_waits_for_the_reviewer(attestation, rita, alice, client_for):
    dashboard = client_for(rita).get("/").content.decode()
    assert 'title="waiting for your review">1</span>' in dashboard and "1 attestation to review</a>" in dashboard
    dashboard = client_for(alice).get("/").content.decode()
    assert 'title="waiting for your review"' not in dashboard and "to review</a>" not in dashboard


def test_the_list_pages_and_filters_by_state(agent, alice, rita, client_for, settings):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}
    for n in range(3):
        identity_attest(actor=alice, identity=agent, note=f"round {n}")
    page = client_for(rita).get("/attestations/?view=all&state=superseded").content.decode()
    assert page.count("/attestations/") >= 2 and "round 2" not in page and "?page=2" not in page
    everything = client_for(rita).get("/attestations/?view=all&state=all").content.decode()
    assert "round 2" in everything and "page=2" in everything


# Telling the owners


def run_notify() -> str:
    out = StringIO()
    call_command("notify_attestation_reviews", stdout=out)
    return out.getvalue()


def test_the_owners_hear_of_a_rejection_once_with_the_reason(attestation, agent, alice, bob, rita):
    identity_owners_set(actor=alice, identity=agent, primary_owner=alice, backup_owners=[bob])
    attestation = Attestation.objects.get(identity=agent, review=AttestationReview.PENDING)
    attestation_reject(actor=rita, attestation=attestation, reason=REASON)
    assert "Told 2 owner(s) of 1 rejected attestation(s)." in run_notify()
    (message,) = mail.outbox
    assert set(message.to) == {"alice@example.com", "bob@example.com"}
    assert REASON in message.body and f"/identities/{agent.pk}/" in message.body
    assert "Told 0 owner(s) of 0" in run_notify() and len(mail.outbox) == 1


def test_a_confirmation_mails_nobody(attestation, rita):
    attestation_confirm(actor=rita, attestation=attestation)
    assert "of 0 rejected" in run_notify() and not mail.outbox


def test_if_mail_fails_the_next_run_tells_the_owners(attestation, rita, settings):
    attestation_reject(actor=rita, attestation=attestation, reason=REASON)
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run_notify()
    assert Attestation.objects.get(pk=attestation.pk).owners_told_at is None
    assert AuditEvent.objects.get(action="attestations.notify_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "of 1 rejected" in run_notify()


def test_a_second_reviewer_still_sees_what_the_first_left(agent, alice, rita, sam):
    other_reviewer = _person("rex", REVIEWER)
    attestation = identity_attest(actor=alice, identity=agent)
    assert attestation in set(attestation_list(user=other_reviewer, view="waiting"))
    assert attestation in set(attestation_list(user=sam, view="waiting"))
    attestation_confirm(actor=rita, attestation=attestation)
    assert not attestation_list(user=other_reviewer, view="waiting").exists()


def test_people_without_a_role_own_nothing_to_review(attestation):
    owner_only = _person("olga", OWNER)
    assert not attestation_list(user=owner_only, view="waiting").exists()


def test_the_identity_page_links_to_its_attestations_alone(attestation, agent, make_identity, alice, client_for):
    other = identity_activate(actor=alice, identity=make_identity(alice, name="other-bot"), reason="go")
    identity_attest(actor=alice, identity=other, note="other note")
    link = f"/attestations/?view=all&amp;state=all&amp;identity={agent.pk}"
    assert link in client_for(alice).get(f"/identities/{agent.pk}/").content.decode()
    listing = client_for(alice).get(link.replace("&amp;", "&")).content.decode()
    assert "Still summarises the CRM" in listing and "other note" not in listing and "The attestations of" in listing
    assert f"identity={agent.pk}" in listing.split("State")[1]  # the state filters keep to the identity


def test_an_identity_filter_on_an_identity_one_may_not_see_shows_nothing_of_it(attestation, agent, bob, client_for):
    listing = client_for(bob).get(f"/attestations/?view=all&identity={agent.pk}").content.decode()
    assert "crm-summariser" not in listing and "Still summarises" not in listing
    assert client_for(bob).get("/attestations/?identity=not-a-uuid").status_code == 200


def test_the_review_forms_need_a_csrf_token(attestation, rita):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rita)
    assert strict.post(f"/attestations/{attestation.pk}/", {"decision": "approve"}).status_code == 403
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


# Confirming several at once


def test_a_reviewer_confirms_several_at_once_with_one_event_each(agent, make_identity, alice, rita, client_for):
    others = [identity_activate(actor=alice, identity=make_identity(alice), reason="go") for _ in range(2)]
    waiting = [identity_attest(actor=alice, identity=i) for i in (agent, *others)]
    client = client_for(rita)
    page = client.get("/attestations/?view=waiting").content.decode()
    assert "Confirm the attestations ticked" in page and f'value="{waiting[0].pk}"' in page
    response = client.post("/attestations/confirm/", {"attestation": [a.pk for a in waiting[:2]], "reason": "Campaign Q4"})
    assert response.status_code == 302 and response["Location"] == "/attestations/?view=waiting"
    assert [Attestation.objects.get(pk=a.pk).review for a in waiting] == ["confirmed", "confirmed", "pending"]
    assert AuditEvent.objects.filter(action="attestation.confirm", reason="Campaign Q4").count() == 2
    assert "Confirmed 2 attestations." in client.get("/attestations/?view=waiting").content.decode()


def test_one_reviewed_meanwhile_is_left_and_counted(attestation, agent, make_identity, alice, rita, sam, client_for):
    other = identity_attest(actor=alice, identity=identity_activate(actor=alice, identity=make_identity(alice), reason="go"))
    client = client_for(rita)
    client.get("/attestations/?view=waiting")  # the list as rita read it
    attestation_reject(actor=sam, attestation=attestation, reason=REASON)
    response = client.post("/attestations/confirm/", {"attestation": [attestation.pk, other.pk], "reason": ""}, follow=True)
    assert "Confirmed 1 attestation. 1 left as it was: reviewed or superseded since the list was read." in response.content.decode()
    assert Attestation.objects.get(pk=attestation.pk).review == AttestationReview.REJECTED


def test_the_bulk_action_refuses_what_is_not_the_reviewers_to_confirm(attestation, agent, alice, bob, rita, client_for):
    for person in (alice, bob):  # alice owns it and attested; bob has no right to review
        response = client_for(person).post("/attestations/confirm/", {"attestation": [attestation.pk]}, follow=True)
        assert "is not one you may confirm" in response.content.decode()
    response = client_for(rita).post("/attestations/confirm/", {"reason": "x"}, follow=True)
    assert "Tick at least one attestation." in response.content.decode()
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING
    assert client_for(rita).get("/attestations/confirm/").status_code == 405


# Telling the reviewers


def run_announce() -> str:
    out = StringIO()
    call_command("notify_attestation_waiting", stdout=out)
    return out.getvalue()


def test_reviewers_hear_once_of_what_waits_and_never_of_their_own_or_what_they_own(agent, make_identity, alice, rita, sam):
    theirs = identity_activate(actor=alice, identity=make_identity(alice, name="rita-helps-bot"), reason="go")
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who owns, too
    identity_owners_set(actor=alice, identity=theirs, primary_owner=alice, backup_owners=[rita])
    identity_attest(actor=alice, identity=agent, note="still reads the CRM")
    identity_attest(actor=alice, identity=theirs)
    assert "Announced 2 attestation(s) to 2 person(s)." in run_announce()
    by = {m.to[0]: m for m in mail.outbox}
    assert set(by) == {"rita@example.com", "sam@example.com"}
    assert "1 attestation" in by["rita@example.com"].subject and "rita-helps-bot" not in by["rita@example.com"].body
    assert "alice attested crm-summariser: still reads the CRM" in by["rita@example.com"].body
    assert "2 attestations" in by["sam@example.com"].subject and "/attestations/?view=waiting" in by["sam@example.com"].body
    assert "Announced 0" in run_announce() and len(mail.outbox) == 2


def test_a_reviewed_attestation_is_not_announced(attestation, rita):
    attestation_confirm(actor=rita, attestation=attestation)
    assert "Announced 0" in run_announce() and not mail.outbox


def test_if_mail_fails_the_next_run_announces_again(attestation, rita, settings):
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run_announce()
    assert Attestation.objects.get(pk=attestation.pk).announced_at is None
    assert AuditEvent.objects.get(action="attestations.announce_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "Announced 1" in run_announce()
