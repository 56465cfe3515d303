"""Registering a service from its protected resource metadata (RFC 9728): a server on loopback
publishes it, and the registration form starts from what it says."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from nhiportal.audit.models import AuditEvent
from tokens.models import Service
from tokens.remote_json import FetchFailed
from tokens.resource_metadata import metadata_location, service_draft
from tokens.services import service_create, service_update
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
        ("http://[::1", "https:// URL"),  # does not parse
        ("https://files example.com/", "https:// URL"),
        ("https://%00/", "https:// URL"),
        ("https://files.example.com:99999/", "https:// URL"),
        ("http://files.example.com/", "https:// URL"),  # plain http off this machine is never fetched
        ("{origin}/nothing-here", "answered HTTP 404"),
    ],
)
def test_a_url_that_gives_no_metadata_is_an_error_next_to_the_field(server, sam, client_for, url, says):
    response = page(client_for, sam, url.format(origin=server.origin))
    html = response.content.decode()
    assert response.status_code == 400 and says in html and 'id="id_metadata_error"' in html
    assert not Service.objects.exists()


def test_only_security_admins_fill_in_a_service(server, issuer, alice, rita, carol, charlie, client_for):
    resource = publish(server)
    for person in (alice, rita, carol, charlie):
        assert page(client_for, person, resource).status_code == 403
    assert server.fetches == 0  # nobody else makes the portal fetch anything


# The daily check of a service registered with its metadata


def check() -> str:
    out = StringIO()
    call_command("check_resource_metadata", stdout=out)
    return out.getvalue()


@pytest.fixture
def files_mcp(server, issuer, sam):
    resource = publish(server, scopes_supported=["files:read", "files:write"])
    return service_create(
        actor=sam, name="Files MCP", audience=resource, owner=sam, metadata_url=f"{server.origin}{WELL_KNOWN}/mcp",
        scopes=[{"name": "files:read", "description": "Read"}, {"name": "files:write", "description": "Write"}],
    )


def test_a_tool_that_appears_on_the_server_is_noticed_once(server, files_mcp, sam, client_for):
    assert check().startswith("1 in step")
    server.documents[WELL_KNOWN + "/mcp"]["scopes_supported"] = ["files:read", "files:share"]
    assert check().startswith("0 in step, 1 with scopes to look at")
    files_mcp.refresh_from_db()
    assert files_mcp.metadata_drift == {"unregistered": ["files:share"], "withdrawn": ["files:write"]}
    check()
    event = AuditEvent.objects.get(action="service.metadata_drift")  # once, not on every check
    assert event.after == {"unregistered": ["files:share"], "withdrawn": ["files:write"]}
    page = client_for(sam).get(f"/services/{files_mcp.pk}/").content.decode()
    assert "Its metadata differs from this registration" in page and "<code>files:share</code>" in page
    assert "metadata differs" in client_for(sam).get("/services/").content.decode()


def test_agents_still_get_only_registered_scopes_and_fixing_the_registration_brings_it_in_step(server, files_mcp, sam):
    server.documents[WELL_KNOWN + "/mcp"]["scopes_supported"] = ["files:read", "files:write", "files:share"]
    check()
    files_mcp.refresh_from_db()
    assert set(files_mcp.scopes.values_list("name", flat=True)) == {"files:read", "files:write"}  # nothing changed behind anyone's back
    service_update(actor=sam, service=files_mcp, scopes=[{"name": s} for s in ("files:read", "files:write", "files:share")])
    assert check().startswith("1 in step")
    files_mcp.refresh_from_db()
    assert files_mcp.metadata_drift == {}
    assert AuditEvent.objects.filter(action="service.metadata_drift").count() == 2  # drifted, then in step


def test_a_server_that_stops_answering_fails_the_step_and_says_why(server, files_mcp):
    del server.documents[WELL_KNOWN + "/mcp"]
    with pytest.raises(CommandError, match="1 not fetched"):
        check()
    files_mcp.refresh_from_db()
    assert files_mcp.metadata_drift == {"error": "The service's metadata could not be fetched: it answered HTTP 404."}


def test_the_registration_keeps_the_metadata_url_it_was_filled_from(server, issuer, sam, client_for):
    resource = publish(server, scopes_supported=["files:read"])
    html = page(client_for, sam, resource).content.decode()
    assert f'value="{server.origin}{WELL_KNOWN}/mcp"' in html


def test_a_metadata_url_off_this_machine_over_http_is_refused(sam, client_for):
    with pytest.raises(ValidationError) as refused:
        service_create(actor=sam, name="X", audience="https://x.example.com", owner=sam, metadata_url="http://x.example.com/meta")
    assert "metadata_url" in refused.value.message_dict
    response = client_for(sam).post("/api/v1/services/", {
        "name": "X", "audience": "https://x.example.com", "owner": "sam", "metadata_url": "ftp://x.example.com/",
    }, content_type="application/json")
    assert response.status_code == 400 and "metadata_url" in response.json()
