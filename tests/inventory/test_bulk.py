"""Bulk actions on identities (inventory/bulk.py): all or none, one audit event per identity
changed, in one transaction; the single actions' rules hold for each."""

import threading
import time
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from inventory.bulk import NOT_YOURS, BatchRefused, identities_owners_set, identities_reactivate, identities_suspend
from inventory.lifecycle import identity_deactivated
from inventory.models import AIIdentity, OwnerRole, Status
from inventory.services import identity_activate, identity_owners_set, identity_suspend
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER
from tests.conftest import _person
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)
from tokens.models import IssuedToken, Task


def status_of(identity):
    return AIIdentity.objects.get(pk=identity.pk).status


def owners_of(identity):
    return {o.person.get_username(): o.role for o in AIIdentity.objects.get(pk=identity.pk).ownerships.select_related("person")}


def events(action):
    return AuditEvent.objects.filter(action=action)


def test_it_suspends_each_identity_revoking_its_tokens_with_one_audit_event_each(alice, make_agent, get_token):
    first, second = make_agent(alice), make_agent(alice)
    for agent_ in (first, second, second):
        get_token(agent_)
    done = identities_suspend(actor=alice, identities=[first.identity, second.identity], reason="Leaked config")
    assert done == {"suspended": 2, "tokens": 3, "tasks": 3}
    assert status_of(first.identity) == status_of(second.identity) == Status.SUSPENDED
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert not Task.objects.filter(ended_at__isnull=True).exists()
    suspensions = events("identity.suspend")
    assert {e.identity_id for e in suspensions} == {first.identity.pk, second.identity.pk}
    assert suspensions.count() == 2 and {e.reason for e in suspensions} == {"Leaked config"}


def test_it_suspends_none_and_names_the_identity_that_cannot_be(alice, make_identity):
    active = identity_activate(actor=alice, identity=make_identity(alice, name="live-agent"))
    registered = make_identity(alice, name="draft-agent")
    with pytest.raises(BatchRefused) as refused:
        identities_suspend(actor=alice, identities=[active, registered], reason="Cleanup")
    assert "draft-agent is registered" in refused.value.messages[0]
    assert "live-agent" not in refused.value.messages[0]
    assert status_of(active) == Status.ACTIVE
    assert not events("identity.suspend").exists()


def test_it_undoes_every_suspension_when_one_fails_half_way(alice, make_agent, get_token):
    first, second = make_agent(alice, name="first"), make_agent(alice, name="second")
    get_token(first)

    def refuse_the_second(sender, *, identity, **kwargs):
        if identity.pk == second.identity.pk:
            raise ValidationError("The token service could not revoke its tokens.")

    identity_deactivated.connect(refuse_the_second, sender=AIIdentity, dispatch_uid="test.refuse_the_second")
    try:
        with pytest.raises(BatchRefused) as refused:
            identities_suspend(actor=alice, identities=[first.identity, second.identity], reason="Cleanup")
    finally:
        identity_deactivated.disconnect(dispatch_uid="test.refuse_the_second", sender=AIIdentity)
    assert refused.value.messages == ["Nothing was done: second: The token service could not revoke its tokens."]
    # The first was suspended, and its token revoked, in the same transaction: both undone.
    assert status_of(first.identity) == status_of(second.identity) == Status.ACTIVE
    assert IssuedToken.objects.get().revoked_at is None
    assert not events("identity.suspend").exists()


def test_it_requires_a_reason_to_suspend(alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    with pytest.raises(ValidationError) as refused:
        identities_suspend(actor=alice, identities=[identity], reason="  ")
    assert "reason" in refused.value.error_dict
    assert status_of(identity) == Status.ACTIVE


def test_it_refuses_the_whole_batch_if_one_is_someone_elses(alice, bob, make_identity):
    mine = identity_activate(actor=alice, identity=make_identity(alice))
    theirs = identity_activate(actor=bob, identity=make_identity(bob))
    with pytest.raises(BatchRefused) as refused:
        identities_suspend(actor=alice, identities=[mine, theirs], reason="Cleanup")
    assert refused.value.messages == [NOT_YOURS]
    assert status_of(mine) == status_of(theirs) == Status.ACTIVE


@pytest.mark.parametrize("persona", ["rita", "carol"])
def test_reviewers_and_compliance_change_nothing_in_bulk(persona, request, alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    with pytest.raises(BatchRefused):
        identities_suspend(actor=request.getfixturevalue(persona), identities=[identity], reason="Cleanup")
    assert status_of(identity) == Status.ACTIVE


def test_it_refuses_more_than_a_page_of_identities(settings, alice, make_identity):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}
    identities = [identity_activate(actor=alice, identity=make_identity(alice)) for _ in range(3)]
    with pytest.raises(BatchRefused) as refused:
        identities_suspend(actor=alice, identities=identities, reason="Cleanup")
    assert refused.value.messages == ["Choose at most 2 identities at once. Nothing was done."]
    assert not events("identity.suspend").exists()


def test_a_security_admins_bulk_suspension_holds_against_an_owners_bulk_reactivation(alice, sam, make_identity):
    held = identity_activate(actor=alice, identity=make_identity(alice, name="held-agent"))
    mine = identity_activate(actor=alice, identity=make_identity(alice, name="own-agent"))
    identities_suspend(actor=sam, identities=[held], reason="Investigating")
    identity_suspend(actor=alice, identity=mine, reason="Paused")
    with pytest.raises(BatchRefused) as refused:
        identities_reactivate(actor=alice, identities=[held, mine])
    assert "held-agent was suspended by a security admin: only a security admin reactivates it" in refused.value.messages[0]
    assert status_of(mine) == Status.SUSPENDED
    assert identities_reactivate(actor=sam, identities=[held, mine], reason="Cleared") == {"reactivated": 2}
    assert status_of(held) == status_of(mine) == Status.ACTIVE
    assert events("identity.reactivate").count() == 2


def test_it_hands_identities_over_to_a_new_primary_owner(alice, bob, sam, make_identity):
    first = make_identity(alice, backups=[_person("dora", OWNER)])
    second = make_identity(alice)
    done = identities_owners_set(actor=sam, identities=[first, second], primary_owner=bob, keep_previous=False, reason="Alice moved team")
    assert done == {"changed": 2, "unchanged": 0}
    assert owners_of(first) == {"bob": OwnerRole.PRIMARY, "dora": OwnerRole.BACKUP}
    assert owners_of(second) == {"bob": OwnerRole.PRIMARY}
    changes = events("identity.owners_set")
    assert changes.count() == 2 and {e.reason for e in changes} == {"Alice moved team"}


def test_the_previous_primary_owner_may_stay_as_a_backup_and_unchanged_ones_are_counted(alice, bob, sam, make_identity):
    mine = make_identity(alice)
    already = make_identity(alice)
    # An owner hands over what they are primary owner of, and may stay on as a backup.
    identities_owners_set(actor=alice, identities=[already], primary_owner=bob, keep_previous=True)
    done = identities_owners_set(actor=sam, identities=[mine, already], primary_owner=bob, keep_previous=True)
    assert done == {"changed": 1, "unchanged": 1}
    assert owners_of(mine) == owners_of(already) == {"bob": OwnerRole.PRIMARY, "alice": OwnerRole.BACKUP}
    assert events("identity.owners_set").count() == 2


def test_a_backup_owner_does_not_hand_over_what_they_do_not_answer_for(alice, bob, make_identity):
    mine = make_identity(alice, name="alices-agent")
    backing = make_identity(bob, name="bobs-agent", backups=[alice])
    with pytest.raises(BatchRefused) as refused:
        identities_owners_set(actor=alice, identities=[mine, backing], primary_owner=alice, keep_previous=False)
    assert "bobs-agent is not yours to hand over" in refused.value.messages[0]
    assert owners_of(backing) == {"bob": OwnerRole.PRIMARY, "alice": OwnerRole.BACKUP}
    assert not events("identity.owners_set").exists()


def test_only_someone_who_may_own_is_made_primary_owner(alice, rita, sam, make_identity):
    first, second = make_identity(alice), make_identity(alice)
    with pytest.raises(BatchRefused) as refused:
        identities_owners_set(actor=sam, identities=[first, second], primary_owner=rita, keep_previous=False)
    assert "rita has the reviewer role" in refused.value.messages[0]
    assert owners_of(first) == owners_of(second) == {"alice": OwnerRole.PRIMARY}
    assert not events("identity.owners_set").exists()


@pytest.mark.parametrize("act", [
    lambda actor, identities: identities_suspend(actor=actor, identities=identities, reason="Cleanup"),
    lambda actor, identities: identities_reactivate(actor=actor, identities=identities),
], ids=["suspend", "reactivate"])
def test_an_identity_that_does_not_exist_is_refused_like_someone_elses(alice, make_identity, act):
    mine = identity_activate(actor=alice, identity=make_identity(alice))
    with pytest.raises(BatchRefused) as refused:
        act(alice, [mine, AIIdentity(pk=uuid.uuid4())])
    assert refused.value.messages == [NOT_YOURS]
    assert status_of(mine) == Status.ACTIVE and not events("identity.suspend").exists()


@pytest.mark.postgres("row locks")
@pytest.mark.django_db(transaction=True)
def test_a_handover_committed_while_the_batch_waits_for_its_lock_is_seen(alice, bob, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    handing_over, handed_over = threading.Event(), threading.Event()
    outcome = []

    def hand_over():  # holds the identity's row until the batch waits for it
        try:
            with transaction.atomic():
                identity_owners_set(actor=alice, identity=identity, primary_owner=bob, backup_owners=[], reason="Moved team")
                handing_over.set()
                handed_over.wait(10)
        finally:
            connection.close()

    def suspend():
        try:
            identities_suspend(actor=alice, identities=[identity], reason="Cleanup")
            outcome.append("suspended")
        except BatchRefused as refused:
            outcome.extend(refused.messages)
        finally:
            connection.close()

    handover = threading.Thread(target=hand_over)
    handover.start()
    assert handing_over.wait(10)
    batch = threading.Thread(target=suspend)
    batch.start()
    for _ in range(100):  # until the batch waits for the row
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
            if cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    handed_over.set()
    handover.join(10)
    batch.join(10)

    assert outcome == [NOT_YOURS]
    assert status_of(identity) == Status.ACTIVE
