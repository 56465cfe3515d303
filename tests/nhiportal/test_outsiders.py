"""Every page and endpoint, walked over a populated portal by two people without rights to
what they ask for: a signed-in person with no role, and an owner who owns none of it.

Whatever they ask, with whatever method, they get a 403, a 404, a redirect or a page that names
no identity they may not see; never a 500; and nothing they send changes anything (the audit
log, where every change writes one event, stays as it was). A view added without the gate
fails here, whoever forgets its own outsider test. Someone not signed in is sent to sign in or
refused, everywhere but the sign-in pages. And compliance staff, who read everything, change
nothing, whatever they send.
"""

import pytest
from django.test import Client

from inventory.models import AIIdentity
from inventory.selectors import orphaned_to_claim
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import COMPLIANCE, OWNER
from tests.conftest import _person
from tests.routes import fill, fillings, session_routes

pytestmark = pytest.mark.django_db
# Forms anyone signed in may send: about their own account, a leak they found, access for an
# identity they own.
OWN_FORMS = {
    "/accounts/second-factor/", "/accounts/password/", "/accounts/tokens/", "/accounts/sessions/", "/exposures/report/",
    "/access-requests/new/",
}


def _walk(client, hidden: set[str], walked=None, answers=None) -> list[str]:
    """Every route (or those walked) with every method: what went wrong, one line each.
    `answers(path, response)`: whether that answer is one the walker may get at all."""
    problems = []
    for route in walked or session_routes():
        for values in fillings(route):
            path = fill(route, values)
            api = path.startswith("/api/")
            calls = [("get", {}), ("post", {"data": "{}", "content_type": "application/json"} if api else {})]
            if api:
                calls += [(m, {"data": "{}", "content_type": "application/json"}) for m in ("put", "patch", "delete")]
            for method, kwargs in calls:
                response = getattr(client, method)(path, **kwargs)
                where = f"{method.upper()} {path} ({response.status_code})"
                if response.status_code >= 500:
                    problems.append(f"{where}: a server error")
                    continue
                if answers is not None and not answers(path, response):
                    problems.append(f"{where}: answered {response.get('Location', 'with content')}")
                body = b"".join(response) if response.streaming else response.content
                text = body.decode("utf-8", "replace")
                named = sorted(name for name in hidden if name in text)
                if named:
                    problems.append(f"{where}: names {named[:3]}")
    return problems


def _names_hidden_from(person) -> set[str]:
    claimable = set(orphaned_to_claim(person).values_list("name", flat=True))
    return set(AIIdentity.objects.values_list("name", flat=True)) - claimable


@pytest.mark.parametrize("role", [None, OWNER], ids=["no role", "owner of nothing"])
def test_a_person_without_rights_gets_nothing_from_any_page_or_endpoint(portal, role):
    person = _person("olga", *([role] if role else []))
    client = Client()
    client.force_login(person)
    hidden = _names_hidden_from(person)
    assert len(hidden) >= 15
    events = AuditEvent.objects.count()
    assert len(session_routes()) >= 200

    problems = _walk(client, hidden)

    assert not problems, "\n".join(problems)
    written = list(AuditEvent.objects.order_by("id")[events:].values_list("action", flat=True))
    assert written == []
    # Still signed in, as nobody else: the walk saw what olga sees.
    assert client.get("/").wsgi_request.user == person


def test_the_walk_finds_a_name_on_a_page_that_shows_it(portal):
    # The walk must be able to fail: the owner of an identity meets its name on its page.
    identity = AIIdentity.objects.filter(ownerships__person__is_active=True, status="active").order_by("pk").first()
    client = Client()
    client.force_login(identity.ownerships.filter(person__is_active=True).first().person)
    problems = _walk(client, {identity.name}, walked=[f"/identities/{identity.pk}/"])
    assert problems and problems[0].startswith(f"GET /identities/{identity.pk}/ (200): names")


def test_someone_not_signed_in_is_sent_to_sign_in_or_refused_everywhere(portal):
    def answers(path, response):
        if path.startswith("/accounts/"):  # signing in, and what leads to it
            return True
        if response.status_code == 302:
            return response["Location"].startswith("/accounts/login/")
        return response.status_code in (401, 403, 404, 405)

    events = AuditEvent.objects.count()
    problems = _walk(Client(), set(AIIdentity.objects.values_list("name", flat=True)), answers=answers)
    assert not problems, "\n".join(problems)
    assert AuditEvent.objects.count() == events


def test_compliance_staff_read_everything_and_change_nothing(portal):
    # They see every identity, so nothing is hidden from them; but nothing they send, with any
    # method, to any route, changes anything. Taking the evidence pack is written down (who
    # carried the evidence off, and when): a record of a read, not a change.
    client = Client()
    client.force_login(_person("olga", COMPLIANCE))
    events = AuditEvent.objects.count()

    def answers(path, response):
        # A page that takes no form answers anything but GET and HEAD with 405; one that does
        # answers this POST with its form again (their own account's, the leak report's).
        method = response.wsgi_request.method
        return method == "GET" or path.startswith("/api/") or response.status_code != 200 or path in OWN_FORMS

    problems = _walk(client, set(), answers=answers)

    assert not problems, "\n".join(problems)
    written = set(AuditEvent.objects.order_by("id")[events:].values_list("action", flat=True))
    assert written <= {"compliance.evidence_pack"}
    assert client.get("/identities/").status_code == 200 and client.get("/compliance/").status_code == 200
