import json
import re

import pytest
from jwt.algorithms import ECAlgorithm

from nhiportal.audit.models import AuditEvent
from tokens.keys import active_signer
from tokens.models import KeyState, SigningKey, TrustDomain
from tokens.services import trust_domain_create

from .conftest import new_private_key, public_jwk


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol"])
def test_only_security_admins_see_keys_and_trust_domains(request, client_for, person):
    client = client_for(request.getfixturevalue(person))
    for url in ("/keys/", "/trust-domains/", "/trust-domains/new/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/keys/rotate/", {"alg": "ES256"}).status_code == 403
    assert not SigningKey.objects.exists()


def test_a_security_admin_sees_the_keys_but_never_a_private_part(client_for, sam, db):
    active_signer()
    key = SigningKey.objects.get(state=KeyState.ACTIVE)
    response = client_for(sam).get("/keys/")
    assert response.status_code == 200 and key.kid.encode() in response.content
    assert bytes(key.private_key_encrypted)[:20] not in response.content


def test_the_rotate_button_rotates(client_for, sam, db):
    first = active_signer()
    response = client_for(sam).post("/keys/rotate/", {"alg": "EdDSA"})
    assert response.status_code == 302
    assert SigningKey.objects.get(kid=first.kid).state == KeyState.RETIRING
    # The key published beside the first signs now; an EdDSA key is published to sign next.
    assert SigningKey.objects.get(state=KeyState.ACTIVE).alg == "ES256"
    assert SigningKey.objects.get(state=KeyState.NEXT).alg == "EdDSA"
    assert AuditEvent.objects.filter(action="signing_key.rotate", actor=sam).count() == 1


def test_it_refuses_an_unknown_algorithm(client_for, sam, db):
    assert client_for(sam).post("/keys/rotate/", {"alg": "HS256"}).status_code == 400
    assert not SigningKey.objects.exists()


def test_a_security_admin_registers_a_trust_domain(client_for, sam):
    bundle = {"keys": [public_jwk(new_private_key(), kid="k1", use="jwt-svid")]}
    response = client_for(sam).post("/trust-domains/new/", {"name": "prod.example.com", "jwks": json.dumps(bundle)})
    assert response.status_code == 302
    domain = TrustDomain.objects.get()
    assert domain.name == "prod.example.com" and domain.created_by == sam
    listing = client_for(sam).get("/trust-domains/")
    assert b"spiffe://prod.example.com" in listing.content and b"k1" in listing.content


def test_it_refuses_a_bundle_with_a_private_key(client_for, sam):
    private = json.loads(ECAlgorithm.to_jwk(new_private_key()))
    response = client_for(sam).post("/trust-domains/new/", {"name": "prod.example.com", "jwks": json.dumps({"keys": [{**private, "kid": "k1"}]})})
    assert response.status_code == 400 and b"private key" in response.content
    assert not TrustDomain.objects.exists()


def test_it_refuses_a_bundle_whose_x509_authority_carries_a_private_part(client_for, sam):
    signing = public_jwk(new_private_key(), kid="k1", use="jwt-svid")
    authority = {**json.loads(ECAlgorithm.to_jwk(new_private_key())), "use": "x509-svid", "x5c": ["MIIB"]}
    response = client_for(sam).post(
        "/trust-domains/new/", {"name": "prod.example.com", "jwks": json.dumps({"keys": [signing, authority]})},
    )
    assert response.status_code == 400 and b"private key" in response.content
    assert authority["d"].encode() not in response.content
    assert not TrustDomain.objects.exists()


def test_a_private_bundle_is_not_echoed_when_another_field_is_refused(client_for, sam):
    private = json.loads(ECAlgorithm.to_jwk(new_private_key()))
    response = client_for(sam).post("/trust-domains/new/", {"name": "", "jwks": json.dumps({"keys": [{**private, "kid": "k1"}]})})
    assert response.status_code == 400 and private["d"].encode() not in response.content


def test_it_keeps_only_the_public_members_of_a_bundle(sam, db):
    signing = {**public_jwk(new_private_key(), kid="k1", use="jwt-svid"), "note": "from the build host"}
    authority = {**public_jwk(new_private_key(), kid="ca"), "use": "x509-svid", "x5c": ["MIIB"], "extra": "dropped"}
    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [signing, authority], "spiffe_sequence": 3})
    stored_signing, stored_authority = domain.jwks["keys"]
    assert stored_signing == {k: v for k, v in signing.items() if k != "note"}
    assert stored_authority == {k: v for k, v in authority.items() if k != "extra"}
    assert set(domain.jwks) == {"keys"}


def test_a_security_admin_replaces_a_bundle(client_for, sam):
    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="old")]})
    new_bundle = {"keys": [public_jwk(new_private_key(), kid="new")]}
    client = client_for(sam)
    assert client.get(f"/trust-domains/{domain.pk}/").status_code == 200
    assert client.post(f"/trust-domains/{domain.pk}/", {"jwks": json.dumps(new_bundle)}).status_code == 302
    domain.refresh_from_db()
    assert [k["kid"] for k in domain.jwks["keys"]] == ["new"]


def test_an_outsider_cannot_open_a_trust_domain(client_for, charlie, sam):
    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k")]})
    client = client_for(charlie)
    assert client.get(f"/trust-domains/{domain.pk}/").status_code == 403
    assert client.post(f"/trust-domains/{domain.pk}/", {"jwks": "{}"}).status_code == 403


@pytest.mark.parametrize("kid", ["k" * 200, 12345])
def test_a_kid_that_is_not_short_text_is_a_form_error(client_for, sam, kid):
    bundle = {"keys": [{**public_jwk(new_private_key()), "kid": kid}]}
    page = client_for(sam).post("/trust-domains/new/", {"name": "prod.example.com", "jwks": json.dumps(bundle)})
    assert page.status_code == 400 and b"at most 128 characters" in page.content
    api = client_for(sam).post("/api/v1/trust-domains/", {"name": "prod.example.com", "jwks": bundle}, content_type="application/json")
    assert api.status_code == 400 and "jwks" in api.json()
    assert not TrustDomain.objects.exists()


def test_the_scrub_migration_removes_private_parts_stored_before_the_checks(sam, db):
    import importlib

    from django.apps import apps

    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k1")]})
    authority = {**json.loads(ECAlgorithm.to_jwk(new_private_key())), "use": "x509-svid", "x5c": ["MIIB"]}
    TrustDomain.objects.filter(pk=domain.pk).update(jwks={"keys": [*domain.jwks["keys"], authority]})  # as stored before

    importlib.import_module("tokens.migrations.0016_scrub_stored_secrets").scrub(apps, None)

    domain.refresh_from_db()
    assert domain.jwks["keys"][1] == {k: v for k, v in authority.items() if k != "d"}


def test_the_key_list_pages_like_every_other_list(settings, client_for, sam, db):
    from tokens.keys import signing_keys_rotate

    active_signer()
    for _ in range(3):
        signing_keys_rotate(actor=sam)
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}
    client = client_for(sam)
    pages = [client.get("/keys/", {"page": n}).content.decode() for n in (1, 2, 3)]
    assert [page.count('<td data-label="kid">') for page in pages] == [2, 2, SigningKey.objects.count() - 4]
    assert 'aria-label="Pages"' in pages[0] and "Page 1 of 3" in pages[0]
    # Pages follow the keys' service: next, active, retiring, retired, newest first within each.
    shown = [kid for page in pages for kid in re.findall(r'<td data-label="kid"><code title="([^"]+)"', page)]
    keys = sorted(SigningKey.objects.all(), key=lambda k: (KeyState.values.index(k.state), -k.created_at.timestamp()))
    assert shown == [k.kid for k in keys] and [k.state for k in keys][:3] == ["next", "active", "retiring"]
    # The rotation form refused comes back with the same pages.
    refused = client.post("/keys/rotate/", {"alg": "HS256"})
    assert refused.status_code == 400 and "Page 1 of 3" in refused.content.decode()
