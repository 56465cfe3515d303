"""Workload identity federation in a real browser: a security admin trusts a cluster's OIDC
issuer by its URL alone, an owner names the workload's subject, and the workload's own token
then gets an access token from the live server."""

import json
import re
import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from inventory.services import identity_activate
from tokens.credentials import credential_add_federated
from tests.browser.test_token_pages import csp_watch
from tests.tokens.conftest import ASSERTION_TYPE, CRM, TASK, new_private_key, public_jwk
from tests.tokens.test_federation import OidcIssuer, workload_token
from tokens.federation import federated_issuer_create
from tokens.models import FederatedIssuer, IssuedToken, WorkloadCredential
from tokens.services import grant_create, service_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "system:serviceaccount:agents:summariser"


@pytest.fixture
def cluster():
    server = OidcIssuer()
    yield server
    server.stop()


def test_a_security_admin_trusts_an_issuer_by_its_url(page, login, sam, cluster):
    blocked = csp_watch(page)
    cluster.publish(("cluster-1", new_private_key()))
    login(page, sam)
    page.goto("/federated-issuers/")
    expect(page.locator("main")).to_contain_text("No federated issuer registered")
    page.get_by_role("link", name="Register issuer").first.click()
    page.get_by_label("Issuer").fill(cluster.issuer)
    page.get_by_label("Name").fill("Agents cluster")
    page.get_by_label("Oldest token accepted (seconds since it was issued)").fill("99999")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("main")).to_contain_text("less than or equal to 3600")  # next to the field, nothing saved
    assert not FederatedIssuer.objects.exists()
    page.get_by_label("Oldest token accepted (seconds since it was issued)").fill("900")
    page.get_by_label("Accept a token again until it expires").check()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/federated-issuers/$"))
    row = page.get_by_role("row", name=re.compile("Agents cluster"))
    expect(row).to_contain_text("cluster-1")
    expect(row).to_contain_text("again until they expire")
    expect(row).to_contain_text("fetched")
    assert FederatedIssuer.objects.get().bundle_endpoint == f"{cluster.origin}/jwks"

    row.get_by_role("link", name="Stop trusting…").click()
    expect(page.locator("main")).to_contain_text("No identity uses it now")
    page.get_by_role("button", name="Stop trusting").click()
    expect(page.locator("main")).to_contain_text("This field is required")  # the reason, next to its field
    page.get_by_label("Reason").fill("The cluster's service account signing key was copied.")
    page.get_by_role("button", name="Stop trusting").click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text("Stopped trusting Agents cluster")
    expect(page.get_by_role("row", name=re.compile("Agents cluster"))).to_contain_text("not trusted")
    assert FederatedIssuer.objects.get().distrusted_at is not None
    assert not blocked


def test_an_owner_names_the_workload_and_its_own_token_gets_an_access_token(page, login, live_server, sam, alice, make_identity, cluster):
    key = new_private_key()
    issuer = federated_issuer_create(
        actor=sam, name="Agents cluster", issuer=cluster.issuer, audience="api://nhi-portal",
        jwks={"keys": [public_jwk(key, kid="cluster-1")]}, max_age=900, reusable=True,
    )
    crm = service_create(actor=sam, name="CRM", audience=CRM, owner=sam, scopes=[{"name": "tickets:read"}])
    identity = make_identity(alice, credential=False)
    login(page, alice)
    page.goto(f"/identities/{identity.pk}/")
    page.get_by_role("link", name="Add federated token").click()
    expect(page.get_by_label("Issuer")).to_contain_text("Agents cluster")
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Other claims").fill("kubernetes.io/namespace")
    page.get_by_role("button", name="Add credential").click()
    expect(page.locator("main")).to_contain_text("name=value")
    page.get_by_label("Other claims").fill("")
    page.get_by_role("button", name="Add credential").click()
    expect(page.locator("#credentials")).to_contain_text(f"Agents cluster token for {SUBJECT}")
    assert WorkloadCredential.objects.get(identity=identity).federated_issuer == issuer

    identity_activate(actor=alice, identity=identity)
    grant_create(actor=sam, identity=identity, service=crm, scopes=["tickets:read"], ends_at=timezone.now() + timedelta(days=1))
    projected = workload_token(key, iss=cluster.issuer, sub=SUBJECT, aud="api://nhi-portal", kid="cluster-1", lifetime=800, jti=uuid.uuid4().hex)
    for _ in range(2):  # a pod presents its projected token until the kubelet refreshes it
        response = requests.post(f"{live_server.url}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": str(identity.pk), "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": projected, "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK),
        }, timeout=10)
        assert response.status_code == 200, response.text
    assert IssuedToken.objects.filter(identity=identity).count() == 2
    page.reload()
    expect(page.locator("#credentials")).to_contain_text("last used")


def test_a_pods_token_found_in_a_log_is_reported_in_the_browser_and_shut_out(page, login, live_server, sam, alice, make_identity, cluster):
    blocked = csp_watch(page)
    key = new_private_key()
    issuer = federated_issuer_create(
        actor=sam, name="Agents cluster", issuer=cluster.issuer, audience="api://nhi-portal",
        jwks={"keys": [public_jwk(key, kid="cluster-1")]}, max_age=3600, reusable=True,
    )
    crm = service_create(actor=sam, name="CRM", audience=CRM, owner=sam, scopes=[{"name": "tickets:read"}])
    identity = make_identity(alice, credential=False, name="summariser")
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject=SUBJECT)
    identity_activate(actor=alice, identity=identity)
    grant_create(actor=sam, identity=identity, service=crm, scopes=["tickets:read"], ends_at=timezone.now() + timedelta(days=1))
    projected = workload_token(key, iss=cluster.issuer, sub=SUBJECT, aud="api://nhi-portal", kid="cluster-1", lifetime=3600)

    def ask():
        return requests.post(f"{live_server.url}/oauth/token", data={
            "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": projected,
            "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK),
        }, timeout=10)

    assert [ask().status_code for _ in range(2)] == [200, 200]

    login(page, alice)
    page.goto("/exposures/report/")
    page.fill("#id_token", projected)
    page.fill("#id_where_found", "pod logs of summariser-7f9c")
    page.get_by_role("button", name="Revoke and report").click()
    expect(page.locator(".msg-success")).to_contain_text("Shut out: the portal will not accept that platform token again. 2 tokens it obtained revoked.")
    expect(page).to_have_url(re.compile(r"/exposures/mine/$"))  # the reporter's own reports, never the token again
    assert projected not in page.content()
    refused = ask()
    assert refused.status_code == 401 and "reported leaked" in refused.json()["error_description"]
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exposures").click()
    page.get_by_role("link", name=re.compile(r"\d{4}-\d{2}-\d{2}")).first.click()
    expect(page.locator("h1")).to_contain_text("platform token (federated) of")
    expect(page.locator("main")).to_contain_text(f"Agents cluster for {SUBJECT}")
    expect(page.locator("main")).to_contain_text("the portal will not accept it again")
    assert blocked == []
