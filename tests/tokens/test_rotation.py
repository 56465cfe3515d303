"""Agents' keys rotate: keys past NHI_CREDENTIAL_MAX_AGE_DAYS are flagged and their owners told once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_add_spiffe, credential_disable
from tokens.models import WorkloadCredential
from tokens.services import trust_domain_create

from .conftest import new_private_key, public_jwk, token_request

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("notify_credential_rotation", stdout=out)
    return out.getvalue()


def _age(credential, days):
    WorkloadCredential.objects.filter(pk=credential.pk).update(created_at=timezone.now() - timedelta(days=days))
    credential.refresh_from_db()
    return credential


def _key(agent):
    return WorkloadCredential.objects.get(identity=agent.identity, kind="jwk")


def test_a_public_key_past_the_maximum_age_is_due_until_disabled(agent, alice):
    key = _key(agent)
    assert not _age(key, 179).rotation_due
    assert _age(key, 181).rotation_due
    credential_disable(actor=alice, credential=key, reason="Rotated.")
    key.refresh_from_db()
    assert not key.rotation_due


def test_a_spiffe_id_never_is_its_trust_domain_rotates_the_keys(sam, alice, make_identity):
    trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="td-1", use="jwt-svid")]})
    identity = make_identity(alice, credential=False)
    spiffe = credential_add_spiffe(actor=alice, identity=identity, spiffe_id="spiffe://prod.example.com/ns/a/sa/b")
    assert not _age(spiffe, 400).rotation_due


def test_the_credentials_panel_shows_last_use_and_asks_for_rotation(agent, alice, get_token, client_for):
    panel = f"/identities/{agent.identity.pk}/credentials-panel/"
    html = client_for(alice).get(panel).content.decode()
    assert "no token in the ledger" in html and "Rotate" not in html
    get_token(agent)
    _age(_key(agent), 200)
    html = client_for(alice).get(panel).content.decode()
    assert "last used " + timezone.localtime().strftime("%Y-%m-%d") in html
    assert "Rotate" in html and "older than 180 days" in html


def test_owners_hear_once_per_key_due(alice, bob, make_agent):
    agent = make_agent(alice, backups=[bob])
    _age(_key(agent), 200)
    make_agent(alice)  # a young key: not due
    assert "Told 2 owner(s) about 1 key(s) due for rotation." in run()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    message = mail.outbox[0]
    assert message.subject == "[NHI Portal] 1 agent key is due for rotation"
    assert agent.identity.name in message.body and f"/identities/{agent.identity.pk}/#credentials" in message.body
    assert "about 0 key(s)" in run() and len(mail.outbox) == 2
    assert AuditEvent.objects.get(action="credentials.notify_rotation").after == {"credentials": 1, "people": 2}


def test_if_mail_fails_the_next_run_tries_again(agent, settings):
    _age(_key(agent), 200)
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run()
    assert _key(agent).rotation_told_at is None
    assert AuditEvent.objects.get(action="credentials.notify_rotation_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "about 1 key(s)" in run()


def test_the_api_says_which_keys_are_due(agent, alice, client_for, charlie):
    _age(_key(agent), 200)
    [row] = client_for(alice).get("/api/v1/credentials/", {"identity": str(agent.identity.pk)}).json()["results"]
    assert row["rotation_due"] is True
    assert client_for(charlie).get("/api/v1/credentials/").json()["count"] == 0


def test_a_rotated_agent_keeps_working_on_its_new_key(agent, alice, get_token, oauth):
    """The rotation the flag asks for: a new key first, then the old one disabled."""
    from tokens.credentials import credential_add_jwk
    from .conftest import Agent

    old = _age(_key(agent), 200)
    get_token(agent)
    new_key = new_private_key()
    fresh = credential_add_jwk(actor=alice, identity=agent.identity, jwk=public_jwk(new_key))
    credential_disable(actor=alice, credential=old, reason="Rotated to a new key.")
    moved = Agent(agent.identity, new_key, fresh.kid)
    assert token_request(oauth, moved).status_code == 200
    assert token_request(oauth, agent).status_code == 401
    assert not WorkloadCredential.objects.filter(identity=agent.identity, enabled=True, created_at__lt=timezone.now() - timedelta(days=180)).exists()


def test_a_maximum_age_under_a_day_is_refused_at_start(settings):
    settings.NHI = {**settings.NHI, "CREDENTIAL_MAX_AGE_DAYS": 0}
    with pytest.raises(SystemCheckError, match="tokens.E002"):
        call_command("check")


def test_the_dashboard_card_lists_keys_due_to_those_who_see_them(agent, make_agent, alice, bob, charlie, client_for, client):
    _age(_key(agent), 200)
    _age(_key(make_agent(bob)), 300)
    assert 'hx-get="/keys/rotation-card/"' in client_for(alice).get("/").content.decode()
    card = client_for(alice).get("/keys/rotation-card/")
    assert card.context["count"] == 1 and [k.identity_id for k in card.context["keys"]] == [agent.identity.pk]
    assert f"/identities/{agent.identity.pk}/#credentials" in card.content.decode()
    outsider = client_for(charlie).get("/keys/rotation-card/")
    assert outsider.context["count"] == 0 and agent.identity.name not in outsider.content.decode()
    assert client.get("/keys/rotation-card/").status_code == 302


def test_the_card_points_past_its_five_rows_where_the_person_may_look(make_agent, alice, sam, client_for):
    for _ in range(6):
        _age(_key(make_agent(alice)), 200)
    owner = client_for(alice).get("/keys/rotation-card/").content.decode()
    assert "6 keys in all; each identity's page shows its own." in owner and "/compliance/" not in owner
    admin = client_for(sam).get("/keys/rotation-card/").content.decode()
    assert 'href="/compliance/controls/key-rotation/"' in admin
