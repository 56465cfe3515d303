"""manage.py notify_new_owners: a person someone else made an owner, or the primary owner, hears
of it once; who made themselves owner does not."""

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from inventory.claims import claim_approve, claim_create
from inventory.handover import ownerships_hand_over
from inventory.models import Ownership, OwnerRole
from inventory.services import identity_offboard, identity_owners_set
from nhiportal.audit.models import AuditEvent
from nhiportal.conf import nhi_setting
from nhiportal.people.roles import OWNER
from tests.conftest import _person

migration = importlib.import_module("inventory.migrations.0018_ownership_notified_at")


def run() -> str:
    out = StringIO()
    call_command("notify_new_owners", stdout=out)
    return out.getvalue()


def sweep() -> str:
    out = StringIO()
    call_command("governance_sweep", "--step", "notify_new_owners", stdout=out, stderr=StringIO())
    return out.getvalue()


def untold():
    return sorted(Ownership.objects.filter(notified_at__isnull=True).values_list("identity__name", "person__username"))


def test_a_backup_added_on_the_owners_page_is_told_once(alice, bob, client_for, make_identity):
    identity = make_identity(alice, name="ledger-bot")
    response = client_for(alice).post(
        reverse("inventory:identity-owners", args=[identity.pk]),
        {"version": identity.version, "primary_owner": alice.pk, "backup_owners": [bob.pk]},
    )
    assert response.status_code == 302

    assert "notify_new_owners: Told 1 person(s) of 1 new ownership(s)." in sweep()

    [message] = mail.outbox
    assert message.to == ["bob@example.com"]
    assert message.subject == "[NHI Portal] You are now an owner of 1 identity"
    assert "- ledger-bot: backup owner" in message.body
    assert f"{nhi_setting('ISSUER').rstrip('/')}/identities/{identity.pk}/" in message.body
    assert "attesting that it is still needed" in message.body and "offboarding it" in message.body
    assert "If this is a mistake, tell the primary owner or a security admin." in message.body
    assert AuditEvent.objects.get(action="identities.notify_new_owners").after == {"ownerships": 1, "people": 1}

    assert "Told 0 person(s)" in run() and len(mail.outbox) == 1


def test_registering_your_own_identity_tells_nobody_but_the_backups_you_named(alice, bob, make_identity):
    make_identity(alice, name="mine-alone")
    assert "Told 0 person(s) of 0 new ownership(s)." in run()
    assert mail.outbox == []

    make_identity(alice, name="shared", backups=[bob])
    run()
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_a_person_made_owner_of_two_identities_gets_one_mail_naming_both(alice, bob, make_identity):
    first = make_identity(alice, name="alpha-bot")
    second = make_identity(alice, name="beta-bot")
    identity_owners_set(actor=alice, identity=first, primary_owner=alice, backup_owners=[bob])
    identity_owners_set(actor=alice, identity=second, primary_owner=bob)

    assert "Told 1 person(s) of 2 new ownership(s)." in run()

    [message] = mail.outbox
    assert message.subject == "[NHI Portal] You are now an owner of 2 identities"
    assert "- alpha-bot: backup owner" in message.body and "- beta-bot: primary owner" in message.body


def test_a_refused_mail_leaves_the_ownership_untold_and_the_next_run_sends(alice, bob, make_identity, settings):
    make_identity(alice, name="ledger-bot", backups=[bob])
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"

    with pytest.raises(ConnectionRefusedError):
        run()

    assert untold() == [("ledger-bot", "bob")]
    failed = AuditEvent.objects.get(action="identities.notify_new_owners_failed")
    assert failed.reason == "mail server down" and failed.after == {"ownerships": 1}

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "Told 1 person(s)" in run()
    assert [m.to for m in mail.outbox] == [["bob@example.com"]] and untold() == []


def test_ownerships_from_before_the_upgrade_are_not_mailed(alice, bob, make_identity):
    identity = make_identity(alice, name="old-bot")
    Ownership.objects.create(identity=identity, person=bob, role=OwnerRole.BACKUP)  # as 0017 left it: no notified_at

    migration.told_when_it_began(apps, None)

    bobs = Ownership.objects.get(identity=identity, person=bob)
    assert bobs.notified_at == bobs.since
    assert "Told 0 person(s)" in run() and mail.outbox == []


def test_the_new_owner_of_an_offboarded_identity_gets_nothing(alice, bob, make_identity):
    identity = make_identity(alice, name="gone-bot", backups=[bob])
    identity_offboard(actor=alice, identity=identity, reason="Project ended.")

    assert "Told 0 person(s) of 1 new ownership(s)." in run()

    assert mail.outbox == [] and untold() == []
    assert AuditEvent.objects.get(action="identities.notify_new_owners").after == {"ownerships": 1, "people": 0, "not mailed": 1}


def test_an_owner_who_left_or_has_no_email_is_marked_told_without_a_mail(alice, bob, make_identity):
    dave = _person("dave", OWNER)
    make_identity(alice, name="ledger-bot", backups=[bob, dave])
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    dave.email = ""
    dave.save(update_fields=["email"])

    run()

    assert mail.outbox == [] and untold() == []


def test_a_backup_a_security_admin_makes_primary_is_told(alice, bob, sam, make_identity):
    identity = make_identity(alice, name="ledger-bot", backups=[bob])
    run()
    mail.outbox.clear()

    identity_owners_set(actor=sam, identity=identity, primary_owner=bob, backup_owners=[alice])

    assert untold() == [("ledger-bot", "bob")]  # alice, moved down to backup, answers for less
    run()
    [message] = mail.outbox
    assert message.to == ["bob@example.com"] and "- ledger-bot: primary owner" in message.body


def test_a_backup_who_makes_themselves_primary_is_not_told(alice, sam, make_identity):
    identity = make_identity(alice, name="ledger-bot", backups=[sam])
    run()
    mail.outbox.clear()

    identity_owners_set(actor=sam, identity=identity, primary_owner=sam, backup_owners=[alice])

    assert untold() == []
    assert "Told 0 person(s)" in run() and mail.outbox == []


def test_a_claimant_whose_claim_is_approved_is_not_told(alice, bob, rita, make_identity):
    identity = make_identity(alice, name="orphan-bot")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    claim_approve(actor=rita, claim=claim_create(actor=bob, identity=identity, reason="My team runs it now."))

    assert untold() == []
    assert "Told 0 person(s)" in run() and mail.outbox == []


def test_a_leavers_successor_is_told(alice, bob, sam, make_identity):
    make_identity(alice, name="ledger-bot")
    ownerships_hand_over(actor=sam, leaver=alice, successor=bob, reason="alice leaves on Friday.")

    run()

    [message] = mail.outbox
    assert message.to == ["bob@example.com"] and "- ledger-bot: primary owner" in message.body
