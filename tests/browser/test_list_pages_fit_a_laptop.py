"""Every list page fits a 1280px laptop screen: no sideways scroll on the page, no table wider
than its box, even when the rows carry the long values real inventories have (a 60-character
identity name, an audience URI, a SPIFFE ID, a leak's address) rather than the demo's short ones."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from tests.browser.test_accessibility import sign_in
from tests.page_quiet import wait_until_quiet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1280, "height": 800}
LONG_DOMAIN = "workloads.payments-platform.eu-west-1.prod.internal.example.com"
LIST_PAGES = [
    "/identities/", "/identities/?status=offboarded", "/identities/unused/", "/credentials/",
    "/tasks/", "/tasks/?state=ended", "/networks/", "/tokens/", "/tokens/?state=revoked",
    "/grants/", "/grants/?state=all", "/access-requests/", "/access-requests/?state=all", "/access-reviews/",
    "/claims/", "/claims/orphaned/", "/approvals/", "/attestations/", "/campaigns/",
    "/services/", "/keys/", "/trust-domains/", "/federated-issuers/", "/exposures/", "/users/",
    "/audit/", "/policy/", "/policy/decisions/", "/webhooks/", "/compliance/", "/compliance/frameworks/",
]


def lengthen() -> None:
    """Give the demo's rows the long values real inventories hold."""
    from inventory.models import AIIdentity
    from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
    from tokens.models import Exposure, FederatedIssuer, IssuedToken, Service, SourceNetwork, Task, TrustDomain, WorkloadCredential

    for identity in AIIdentity.objects.all():
        identity.name = f"{identity.name}-customer-support-production-eu-west-1-canary"[:60]
        identity.save(update_fields=["name"])
    for service in Service.objects.all():
        slug = service.name.lower().replace(" ", "-")
        service.name = f"{service.name} enterprise-customer-relationship-gateway"[:60]
        service.audience = f"https://{slug}.api.eu-west-1.prod.internal.example.com/v2/resource-server"
        service.save(update_fields=["name", "audience"])
        IssuedToken.objects.filter(task__service=service).update(audience=service.audience)
    for credential in WorkloadCredential.objects.select_related("identity"):
        credential.spiffe_id = f"spiffe://{LONG_DOMAIN}/ns/production/sa/{credential.identity.name}" if credential.spiffe_id else ""
        credential.subject = f"repo:acme-corporation/{credential.identity.name}:ref:refs/heads/main" if credential.subject else ""
        credential.save(update_fields=["spiffe_id", "subject"])
    TrustDomain.objects.update(name=LONG_DOMAIN)
    FederatedIssuer.objects.update(issuer="https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF")
    Exposure.objects.update(where_found="https://github.com/acme-corporation/customer-support-ticket-summariser/blob/main/config/production/settings.yaml#L42")
    Task.objects.update(intent="Summarise the customer's open support tickets from the last thirty days and draft a reply for the agent on duty to review")
    for number, network in enumerate(SourceNetwork.objects.all()):
        network.network = f"2001:db8:85a3:1234:5678:8a2e:{number:x}:0/112"
        network.save(update_fields=["network"])
    WebhookEndpoint.objects.update(url_shown="https://siem-ingest.security-operations.eu-west-1.example.com/… (sha256 fafebef7e7f8)")
    WebhookDelivery.objects.update(error="Connection refused by siem-ingest.security-operations.eu-west-1.example.com:443 after 3 attempts")


@pytest.fixture
def long_demo(db):
    if connection.vendor != "sqlite":
        pytest.skip("layout, not the database, is under test: once, on SQLite, is enough")
    call_command("demo_data", "--identities", "30", stdout=io.StringIO())
    lengthen()


def overflows(page) -> dict:
    """How far the page, and each table, runs past its box (all 0: it fits)."""
    wait_until_quiet(page)
    return page.evaluate("""() => ({
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        tables: [...document.querySelectorAll('main table')].map(t => {
            const box = t.closest('.table-wrap') || t.parentElement;
            return box.scrollWidth - box.clientWidth;
        }),
    })""")


def test_no_list_page_runs_past_a_laptop_screen_with_long_values(page, long_demo):
    from inventory.models import AIIdentity
    from nhiportal.webhooks.models import WebhookEndpoint

    webhook = WebhookEndpoint.objects.first()
    busy = AIIdentity.objects.filter(tasks__isnull=False).first()
    paths = [*LIST_PAGES, f"/webhooks/{webhook.pk}/deliveries/", f"/identities/{busy.pk}/tasks/"]
    page.set_viewport_size(LAPTOP)
    sign_in(page, "sam")
    wide = {}
    for path in paths:
        assert page.goto(path).status == 200, path
        measured = overflows(page)
        if measured["page"] > 0 or any(extra > 0 for extra in measured["tables"]):
            wide[path] = measured
    assert wide == {}
