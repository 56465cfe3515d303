"""The token catalogue's writes (tokens/services.py) record what changed, once, and nothing
when nothing changed."""

from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, Service, TrustDomain
from tokens.public_keys import jwk_thumbprint
from tokens.services import service_update, trust_domain_create, trust_domain_update

from .conftest import new_private_key, public_jwk


def _bundle(*keys):
    return {"keys": [public_jwk(key, kid=kid, use="jwt-svid") for kid, key in keys]}


def test_updating_a_trust_domain_with_the_same_bundle_writes_no_audit_event(sam, audit_actions_during):
    bundle = _bundle(("k1", new_private_key()))
    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks=bundle)
    stamped = TrustDomain.objects.get(pk=domain.pk).updated_at

    _, actions = audit_actions_during(lambda: trust_domain_update(actor=sam, trust_domain=domain, jwks=bundle))

    assert actions == []
    assert TrustDomain.objects.get(pk=domain.pk).updated_at == stamped


def test_other_keys_under_the_same_kid_are_one_event_that_names_them(sam, audit_actions_during):
    old, new = new_private_key(), new_private_key()
    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks=_bundle(("k1", old)))

    _, actions = audit_actions_during(lambda: trust_domain_update(actor=sam, trust_domain=domain, jwks=_bundle(("k1", new))))

    assert actions == ["trust_domain.update"]
    event = AuditEvent.objects.filter(action="trust_domain.update").latest("id")
    assert [jwk_thumbprint(key) for key in event.before["keys"]] == [jwk_thumbprint(public_jwk(old))]
    assert [jwk_thumbprint(key) for key in event.after["keys"]] == [jwk_thumbprint(public_jwk(new))]
    assert set(event.after) == {"keys"} and not any("d" in key for key in event.after["keys"])


def test_saving_a_service_unchanged_writes_nothing(sam, crm, audit_actions_during):
    stamped = Service.objects.get(pk=crm.pk).updated_at
    scopes = [{"name": s.name, "description": s.description, "consequential": s.consequential} for s in crm.scopes.all()]

    _, actions = audit_actions_during(lambda: service_update(actor=sam, service=crm, name="CRM", scopes=scopes))

    assert actions == []
    assert Service.objects.get(pk=crm.pk).updated_at == stamped


def test_deactivating_a_service_counts_the_tokens_it_revoked_in_its_one_event(sam, crm, agent, get_token, audit_actions_during):
    get_token(agent)

    _, actions = audit_actions_during(lambda: service_update(actor=sam, service=crm, is_active=False, reason="Retired."))

    assert actions == ["service.update"]
    event = AuditEvent.objects.filter(action="service.update").latest("id")
    assert event.before == {"is_active": True}
    assert event.after == {"is_active": False, "tokens_revoked": 1}
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
