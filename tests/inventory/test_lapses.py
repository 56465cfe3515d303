"""suspend_unattested: an identity no owner vouches for stops, after a grace period to attest."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from inventory.lapses import lapse_date, lapses_review
from inventory.models import AIIdentity, LapseNotice, Status
from inventory.services import TransitionRefused, identity_activate, identity_attest, identity_reactivate
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth, token_request  # noqa: F401
from tokens.models import IssuedToken

ACTOR = system_actor("tests")


def due(identity, days_ago: int):
    """Arrange: the identity's attestation fell due that many days ago."""
    AIIdentity.objects.filter(pk=identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=days_ago))
    identity.refresh_from_db()


def test_it_suspends_an_identity_unattested_past_grace_revokes_its_tokens_and_tells_its_owners(
    agent, bob, get_token, settings, oauth
):
    get_token(agent)
    grace = settings.NHI["ATTESTATION_GRACE_DAYS"]
    due(agent.identity, grace + 1)

    assert lapses_review(actor=ACTOR) == {"suspended": 1, "owners_told": 1}

    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.SUSPENDED
    assert f"not given within {grace} days' grace" in agent.identity.status_reason
    assert not IssuedToken.objects.filter(identity=agent.identity, revoked_at__isnull=True).exists()
    assert token_request(oauth, agent).json()["error"] == "unauthorized_client"
    assert AuditEvent.objects.filter(action="identity.suspend", identity_id=agent.identity.pk, actor_label="system:tests").count() == 1
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and "attestation overdue" in message.subject
    assert f"/identities/{agent.identity.pk}/" in message.body


def test_grace_ends_the_day_the_compliance_control_starts_failing(make_identity, alice, settings):
    grace = settings.NHI["ATTESTATION_GRACE_DAYS"]
    within, past = make_identity(alice), make_identity(alice)
    for identity in (within, past):
        identity.status = Status.ACTIVE
        identity.save(update_fields=["status"])
    due(within, grace)
    due(past, grace + 1)
    assert lapse_date(within) == timezone.localdate() + timedelta(days=1)

    assert lapses_review(actor=ACTOR)["suspended"] == 1
    within.refresh_from_db()
    past.refresh_from_db()
    assert (within.status, past.status) == (Status.ACTIVE, Status.SUSPENDED)


def test_an_owner_who_attests_in_time_keeps_the_identity_active(agent, alice, settings):
    due(agent.identity, settings.NHI["ATTESTATION_GRACE_DAYS"] + 5)
    identity_attest(actor=alice, identity=agent.identity, note="Still summarising tickets.")
    assert lapses_review(actor=ACTOR) == {"suspended": 0, "owners_told": 0}
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.ACTIVE and lapse_date(agent.identity) > timezone.localdate()


def test_a_second_run_suspends_nothing_more_and_tells_no_one_again(agent, settings):
    due(agent.identity, settings.NHI["ATTESTATION_GRACE_DAYS"] + 1)
    out = StringIO()
    call_command("suspend_unattested", stdout=out)
    call_command("suspend_unattested", stdout=out)
    assert out.getvalue().splitlines() == ["1 suspended, 1 owner(s) told.", "0 suspended, 0 owner(s) told."]
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="identity.suspend").count() == 1


def test_if_mail_fails_the_suspension_stands_and_the_next_run_tells_the_owners(agent, settings):
    due(agent.identity, settings.NHI["ATTESTATION_GRACE_DAYS"] + 1)
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        lapses_review(actor=ACTOR)
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.SUSPENDED
    assert AuditEvent.objects.get(action="lapses.notify_failed").reason == "mail server down"
    assert LapseNotice.objects.get().told_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert lapses_review(actor=ACTOR) == {"suspended": 0, "owners_told": 1}
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    notice = LapseNotice.objects.get()
    assert notice.told_at is not None and notice.owners_told == 1


def test_an_identity_reactivated_before_the_notice_went_out_is_not_reported_suspended(agent, alice, settings):
    due(agent.identity, settings.NHI["ATTESTATION_GRACE_DAYS"] + 1)
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        lapses_review(actor=ACTOR)
    identity_attest(actor=alice, identity=agent.identity)
    identity_reactivate(actor=alice, identity=agent.identity)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert lapses_review(actor=ACTOR) == {"suspended": 0, "owners_told": 0}
    assert mail.outbox == [] and LapseNotice.objects.get().told_at is not None


def test_the_owner_sees_on_the_identity_page_when_it_will_be_suspended(agent, client_for, alice, bob, settings):
    url = reverse("inventory:identity-detail", args=[agent.identity.pk])
    assert "the identity is suspended on" not in client_for(alice).get(url).content.decode()
    due(agent.identity, 3)
    page = client_for(alice).get(url).content.decode()
    suspended_on = timezone.localdate() + timedelta(days=settings.NHI["ATTESTATION_GRACE_DAYS"] - 2)
    assert f"Unless an owner attests, the identity is suspended on {suspended_on:%Y-%m-%d}" in page
    assert client_for(bob).get(url).status_code == 404


def test_an_owner_cannot_reactivate_a_lapsed_identity_before_attesting_it(agent, alice, settings):
    due(agent.identity, settings.NHI["ATTESTATION_GRACE_DAYS"] + 1)
    lapses_review(actor=ACTOR)
    agent.identity.refresh_from_db()
    with pytest.raises(TransitionRefused, match="An owner attests it first"):
        identity_reactivate(actor=alice, identity=agent.identity)
    identity_attest(actor=alice, identity=agent.identity, note="Still needed.")
    assert identity_reactivate(actor=alice, identity=agent.identity).status == Status.ACTIVE


def test_a_registered_identity_with_an_old_due_date_still_activates(alice, make_identity):
    identity = make_identity(alice)
    AIIdentity.objects.filter(pk=identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=400))
    identity.refresh_from_db()
    assert identity_activate(actor=alice, identity=identity).status == Status.ACTIVE
