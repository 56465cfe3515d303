"""The documents the portal fetches (trust bundles, issuers' discovery and keys, services'
metadata) never come from a link-local or metadata address, the unspecified address or a
multicast one: refused next to the field where the URL is typed, and refused again as the
portal connects, with the reason where the admin looks."""

import pytest
from django.core.exceptions import ValidationError

from tokens.federation import federated_issuer_create
from tokens.models import Service, TrustDomain
from tokens.services import trust_domain_create
from tokens.trust_bundles import bundle_refresh

from .conftest import new_private_key, public_jwk
from .json_server import JsonServer
from .test_api import api

pytestmark = pytest.mark.django_db
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/portal-role"


@pytest.fixture
def server():
    server = JsonServer()
    yield server
    server.stop()


@pytest.fixture
def pasted(sam):
    """A trust domain registered with its bundle pasted, so nothing is fetched yet."""
    return trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k1")]})


def test_the_trust_domain_page_refuses_a_metadata_bundle_endpoint_next_to_the_field(client_for, sam):
    response = client_for(sam).post("/trust-domains/new/", {"name": "prod.example.com", "bundle_endpoint": METADATA, "jwks": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["bundle_endpoint"] == ["169.254.169.254 is a link-local address; the portal never calls it."]
    assert not TrustDomain.objects.exists()


def test_the_trust_domain_api_refuses_a_metadata_address_however_it_is_written(client_for, sam, pasted):
    call = api(client_for, sam)
    for url, says in (
        (METADATA, "169.254.169.254 is a link-local address; the portal never calls it."),
        ("https://[::ffff:169.254.169.254]/bundle", "::ffff:169.254.169.254 is a link-local address; the portal never calls it."),
        ("https://2852039166/bundle", "2852039166 (169.254.169.254) is a link-local address; the portal never calls it."),
    ):
        response = call("post", "trust-domains/", {"name": "other.example.com", "bundle_endpoint": url})
        assert response.status_code == 400 and response.json() == {"bundle_endpoint": [says]}, url
    changed = call("patch", f"trust-domains/{pasted.pk}/", {"bundle_endpoint": "https://[fd00:ec2::254]/bundle"})
    assert changed.status_code == 400 and "fd00:ec2::254 is a cloud metadata address" in changed.json()["bundle_endpoint"][0]
    assert list(TrustDomain.objects.values_list("bundle_endpoint", flat=True)) == [""]


def test_a_federated_issuer_at_a_refused_address_is_refused_with_the_reason(client_for, sam):
    call = api(client_for, sam)
    response = call("post", "federated-issuers/", {"name": "cluster", "issuer": "https://169.254.169.254"})
    assert response.status_code == 400 and response.json() == {"issuer": ["169.254.169.254 is a link-local address; the portal never calls it."]}
    response = call("post", "federated-issuers/", {"name": "cluster", "issuer": "https://k8s.example.com", "bundle_endpoint": "https://[::]/jwks"})
    assert response.status_code == 400 and response.json() == {"bundle_endpoint": [":: is the unspecified address; the portal never calls it."]}
    page = client_for(sam).post("/federated-issuers/new/", {"issuer": "https://169.254.169.254", "name": "cluster", "max_age": 300})
    assert page.status_code == 400 and "link-local address" in page.context["form"].errors["issuer"][0]


def test_a_discovery_document_pointing_at_a_metadata_address_is_refused(sam, server):
    server.documents["/.well-known/openid-configuration"] = {"issuer": server.origin, "jwks_uri": "https://169.254.169.254/jwks"}
    with pytest.raises(ValidationError) as refused:
        federated_issuer_create(actor=sam, name="cluster", issuer=server.origin)
    assert refused.value.message_dict == {"bundle_endpoint": ["169.254.169.254 is a link-local address; the portal never calls it."]}


def test_a_services_metadata_url_at_a_refused_address_is_refused_on_the_api_and_the_page(client_for, sam):
    response = api(client_for, sam)("post", "services/", {
        "name": "Files", "audience": "https://files.example.com", "owner": "sam",
        "metadata_url": "http://169.254.169.254/.well-known/oauth-protected-resource",
    })
    assert response.status_code == 400
    assert response.json() == {"metadata_url": ["169.254.169.254 is a link-local address; the portal never calls it."]}
    page = client_for(sam).get("/services/new/", {"metadata": "https://[::ffff:169.254.169.254]/mcp"})
    html = page.content.decode()
    assert page.status_code == 400 and 'id="id_metadata_error"' in html
    assert "::ffff:169.254.169.254 is a link-local address; the portal never calls it." in html
    assert not Service.objects.exists()


def test_a_bundle_endpoint_at_the_unspecified_address_is_refused_as_it_connects_and_never_fetched(sam, server, pasted):
    server.documents["/"] = {"keys": [public_jwk(new_private_key(), kid="k2")]}
    port = server.origin.rsplit(":", 1)[1]
    # Written past the check, as a row from before it would be. Connecting to 0.0.0.0 reaches
    # this machine: without the check, the server on 127.0.0.1 would answer with new keys.
    TrustDomain.objects.filter(pk=pasted.pk).update(bundle_endpoint=f"http://0.0.0.0:{port}/")
    assert bundle_refresh(actor=sam, holder=TrustDomain.objects.get(pk=pasted.pk)) == "failed"
    assert server.fetches == 0
    pasted.refresh_from_db()
    assert pasted.bundle_error == "The bundle endpoint could not be fetched: refused: 0.0.0.0 is the unspecified address, which the portal never calls."
    assert [k["kid"] for k in pasted.jwks["keys"]] == ["k1"]  # the keys in use stay


def test_fetch_now_on_an_ipv4_mapped_metadata_address_says_why_on_the_page_and_the_api(client_for, sam, pasted):
    TrustDomain.objects.filter(pk=pasted.pk).update(bundle_endpoint="https://[::ffff:169.254.169.254]/bundle")
    says = "The bundle endpoint could not be fetched: refused: ::ffff:169.254.169.254 is a link-local address, which the portal never calls."
    client = client_for(sam)
    page = client.post(f"/trust-domains/{pasted.pk}/refresh/", follow=True)
    assert page.status_code == 200 and says in page.content.decode()
    refreshed = client.post(f"/api/v1/trust-domains/{pasted.pk}/refresh/")
    assert refreshed.status_code == 502 and refreshed.json()["detail"] == says
