"""Registering a service from its protected resource metadata (RFC 9728): a server on loopback
publishes it, and the registration form starts from what it says."""

import json

import pytest
from django.test import RequestFactory

from tokens.models import Service
from tokens.remote_json import FetchFailed
from tokens.resource_metadata import metadata_location, service_draft
from tokens.verifier import TokenVerifier, protected_resource_metadata

from .json_server import JsonServer

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@pytest.fixture
def server():
    server = JsonServer()
    yield server
    server.stop()


@pytest.fixture
def issuer(settings):
    settings.NHI = {**settings.NHI, "ISSUER": "https://portal.example.com"}
    return "https://portal.example.com"


def publish(server, path="/mcp", **fields):
    resource = server.origin + path
    server.documents[WELL_KNOWN + path] = {"resource": resource, "authorization_servers": ["https://portal.example.com"], **fields}
    return resource


def test_the_well_known_part_goes_between_the_host_and_the_path():
    assert metadata_location("https://mcp.example.com/tools/") == (f"https://mcp.example.com{WELL_KNOWN}/tools", "https://mcp.example.com/tools/")
    assert metadata_location("https://mcp.example.com") == (f"https://mcp.example.com{WELL_KNOWN}", "https://mcp.example.com")
    assert metadata_location(f"https://mcp.example.com{WELL_KNOWN}/tools") == (f"https://mcp.example.com{WELL_KNOWN}/tools", "https://mcp.example.com/tools")


def test_a_service_built_on_the_verifier_fills_in_its_own_registration(server, issuer):
    # The metadata view tokens/verifier.py gives a resource server, served as it would serve it.
    audience = server.origin + "/crm"
    verifier = TokenVerifier(issuer=issuer, audience=audience, jwks_url=f"{issuer}/oauth/jwks")
    view = protected_resource_metadata(verifier, scopes_supported=["contacts:read", "contacts:write"], resource_name="CRM",
                                       dpop_bound_tokens_required=True)
    server.documents[WELL_KNOWN + "/crm"] = json.loads(view(RequestFactory().get("/")).content)
    draft = service_draft(audience)
    assert (draft.name, draft.audience, draft.requires_dpop, draft.scopes, draft.notes) == ("CRM", audience, True, ["contacts:read", "contacts:write"], [])


def test_metadata_for_another_resource_is_refused(server, issuer):
    server.documents[WELL_KNOWN + "/mcp"] = {"resource": "https://bank.example.com/", "scopes_supported": ["pay"]}
    with pytest.raises(FetchFailed, match="describes 'https://bank.example.com/'"):
        service_draft(server.origin + "/mcp")


def test_a_server_that_names_other_authorization_servers_is_flagged(server, issuer):
    resource = publish(server, scopes_supported=["files:read"])
    server.documents[WELL_KNOWN + "/mcp"]["authorization_servers"] = ["https://login.other.example"]
    draft = service_draft(resource)
    assert draft.notes == [
        "Its metadata names https://login.other.example, not this portal (https://portal.example.com): agents that follow it "
        "will not ask here for tokens. Add the portal to its authorization_servers."
    ]


def test_without_a_name_the_host_names_it_and_a_bare_host_may_end_in_a_slash(server, issuer):
    server.documents[WELL_KNOWN] = {"resource": server.origin + "/", "authorization_servers": [issuer]}
    draft = service_draft(server.origin)
    assert draft.name == "127.0.0.1" and draft.audience == server.origin + "/" and draft.scopes == []


def test_a_redirect_is_not_followed(server, issuer):
    # An https URL could otherwise hand the fetch to a plain-http address inside the network.
    server.redirects[WELL_KNOWN + "/mcp"] = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(FetchFailed, match="answered with a redirect \\(HTTP 302\\) to http://169.254.169.254/latest/meta-data/"):
        service_draft(server.origin + "/mcp")
    assert server.fetches == 1


# The page


def page(client_for, sam, url):
    return client_for(sam).get("/services/new/", {"metadata": url})


def test_a_security_admin_registers_an_mcp_server_from_its_url(server, issuer, sam, client_for):
    resource = publish(server, resource_name="Files MCP", scopes_supported=["files:read", "files:write"])
    response = page(client_for, sam, resource)
    html = response.content.decode()
    assert response.status_code == 200 and "Filled in from" in html and "2 scopes" in html
    assert f'value="{resource}"' in html and 'value="Files MCP"' in html and 'value="files:write"' in html
    saved = client_for(sam).post("/services/new/", {
        "name": "Files MCP", "audience": resource, "description": "", "owner": sam.pk, "environment": "production",
        "trust_boundary": "corp-internal", "sensitivity": 2,
        "scopes-TOTAL_FORMS": 2, "scopes-INITIAL_FORMS": 0,
        "scopes-0-name": "files:read", "scopes-0-description": "Read files", "scopes-1-name": "files:write", "scopes-1-description": "Write",
    })
    assert saved.status_code == 302
    service = Service.objects.get(audience=resource)
    assert sorted(service.scopes.values_list("name", flat=True)) == ["files:read", "files:write"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://files.example.com/", "https:// URL"),
        ("http://files.example.com/", "https:// URL"),  # plain http off this machine is never fetched
        ("{origin}/nothing-here", "answered HTTP 404"),
    ],
)
def test_a_url_that_gives_no_metadata_is_an_error_next_to_the_field(server, sam, client_for, url, says):
    response = page(client_for, sam, url.format(origin=server.origin))
    html = response.content.decode()
    assert response.status_code == 400 and says in html and 'id="id_metadata-error"' in html
    assert not Service.objects.exists()


def test_only_security_admins_fill_in_a_service(server, issuer, alice, rita, carol, charlie, client_for):
    resource = publish(server)
    for person in (alice, rita, carol, charlie):
        assert page(client_for, person, resource).status_code == 403
    assert server.fetches == 0  # nobody else makes the portal fetch anything
