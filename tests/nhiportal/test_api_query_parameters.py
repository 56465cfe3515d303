"""A query parameter an operation does not document is a 400 naming it, and so is a single-valued
one given twice, rather than ignored or one of the two picked: `tokens/?staus=live` (a typo)
would list every token, for a script to revoke them all. What an operation takes is what
/api/schema/ documents for it. A caller not signed in, refused, or who may not see the object
gets the same 401, 403 or 404 as without the parameter."""

import json
import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from inventory.models import Status
from nhiportal.api import REPEATED_PARAMETER, UNKNOWN_PARAMETER
from tests.routes import fill_api, fillings

API = "/api/v1/"
# An identity id no identity has: parametrized tests are collected alike by every xdist worker.
NOBODY = "00000000-0000-4000-8000-000000000000"


def _send(client, method, url):
    """The call, with an empty JSON body for a write: the refusal must not depend on a valid one."""
    return getattr(client, method)(url, **({} if method == "get" else {"data": "{}", "content_type": "application/json"}))


def _described():
    return json.loads(Client().get("/api/schema/", {"format": "json"}).content)["paths"]


@pytest.mark.parametrize("method, url", [
    ("get", "tokens/?staus=live"),  # a filter set's list
    ("get", "identities/?staus=live"),
    ("get", "grants/?staus=live"),  # a list read with a QuerySerializer
    ("get", "tasks/?staus=live"),
    ("get", "identities/unused/?staus=live"),
    ("get", "compliance/?staus=live"),  # APIViews
    ("get", "sweep/?staus=live"),
    ("get", "tokens/?page_size=500"),  # paged by the portal, 50 a page
    ("get", "tokens/?format=json"),  # JSON is all the API answers
    ("post", "emergency-revoke/?staus=live"),
])
def test_it_refuses_a_parameter_the_operation_does_not_take_naming_it(client_for, sam, method, url):
    response = _send(client_for(sam), method, API + url)
    assert response.status_code == 400, response.content
    name = re.search(r"\?(\w+)=", url).group(1)
    assert response.json() == {name: [UNKNOWN_PARAMETER]}


def test_it_refuses_an_unknown_parameter_on_an_object_it_shows(client_for, alice, make_identity):
    identity = make_identity(alice)
    for url in (f"identities/{identity.pk}/", f"identities/{identity.pk}/activity/", f"identities/{identity.pk}/blast-radius/"):
        response = client_for(alice).get(f"{API}{url}?verbose=1")
        assert response.status_code == 400, (url, response.content)
        assert response.json() == {"verbose": [UNKNOWN_PARAMETER]}


def test_a_write_with_an_unknown_parameter_changes_nothing(client_for, alice, agent):
    response = client_for(alice).post(
        f"{API}identities/{agent.identity.pk}/suspend/?notify=false", {"reason": "Keys rotated."}, content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"notify": [UNKNOWN_PARAMETER]}
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.ACTIVE


@pytest.mark.parametrize("url, name", [
    ("tokens/?state=live&state=revoked", "state"),
    ("grants/?state=live&state=revoked", "state"),
    ("identities/?kind=agent&kind=tool", "kind"),
    ("audit-events/?after=1&after=2", "after"),
    ("tokens/?page=1&page=2", "page"),
])
def test_it_refuses_a_single_valued_parameter_given_twice(client_for, sam, url, name):
    response = client_for(sam).get(API + url)
    assert response.status_code == 400, response.content
    assert response.json() == {name: [REPEATED_PARAMETER]}


def test_no_query_parameter_is_described_as_taking_several_values(db):
    # Were one described so (a list, `explode`), it could be repeated: the rule reads the same
    # description. Today every one takes a single value.
    arrays = [
        (path, p["name"]) for path, operations in _described().items() for operation in operations.values()
        for p in operation.get("parameters", []) if p["in"] == "query" and p.get("schema", {}).get("type") == "array"
    ]
    assert arrays == []


def _sam():
    return get_user_model().objects.get(username="sam")  # the demo's security admin, who sees everything


def _value(parameter) -> str:
    """A value of the parameter's type: whether it finds anything does not matter here."""
    schema = parameter.get("schema", {})
    if schema.get("enum"):
        return str(next(v for v in schema["enum"] if v not in ("", None)))
    by_format = {"date-time": "2026-11-30T18:00:00Z", "date": "2026-11-30", "uuid": str(uuid.uuid4())}
    return by_format.get(schema.get("format")) or {"integer": "1", "number": "1", "boolean": "true"}.get(schema.get("type"), "x")


def test_it_takes_every_parameter_it_documents(portal, client_for):
    """Every query parameter of every operation, from the description, so a new filter is covered."""
    client, tried, refused = client_for(_sam()), 0, []
    for path, operations in _described().items():
        if not path.startswith(API) or "get" not in operations:
            continue
        real = fillings(path)
        if not real:
            continue  # the demo holds none (webhooks)
        url = re.sub(r"{(\w+)}", lambda m: str(fill_api(path, real[0])[m.group(1)]), path)
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] != "query":
                continue
            response = client.get(url, {parameter["name"]: _value(parameter)})
            tried += 1
            if response.status_code != 200 and (response.status_code != 400 or UNKNOWN_PARAMETER in response.content.decode()):
                refused.append(f"{url}?{parameter['name']}: {response.status_code} {response.content[:200]}")
    assert tried > 100
    assert not refused, "\n".join(refused)


def test_every_operation_refuses_an_unknown_parameter_before_it_acts(portal, client_for):
    client, tried, answered = client_for(_sam()), 0, []
    for path, operations in _described().items():
        real = fillings(path)
        if not path.startswith(API) or not real:
            continue
        url = re.sub(r"{(\w+)}", lambda m: str(fill_api(path, real[0])[m.group(1)]), path)
        for method in operations:
            response = _send(client, method, f"{url}?not_a_parameter=1")
            tried += 1
            if response.status_code != 400 or response.json() != {"not_a_parameter": [UNKNOWN_PARAMETER]}:
                answered.append(f"{method.upper()} {url}: {response.status_code} {response.content[:200]}")
    assert tried > 100
    assert not answered, "\n".join(answered)


# Outsiders: the same answer as without the parameter.

@pytest.mark.parametrize("method, url", [
    ("get", "tokens/?staus=live"), ("get", "compliance/?x=1"), ("post", "emergency-revoke/?x=1"),
    ("get", f"identities/{NOBODY}/activity/?x=1"),
])
def test_a_caller_not_signed_in_is_refused_before_any_parameter_is_read(db, method, url):
    response = _send(Client(), method, API + url)
    assert response.status_code in (401, 403), response.content
    assert "x" not in response.json() and "staus" not in response.json()


@pytest.mark.parametrize("method, url", [
    ("get", "webhooks/?x=1"), ("get", "signing-keys/?x=1"), ("get", "trust-domains/?x=1"), ("get", "federated-issuers/?x=1"),
    ("get", "policy-versions/?x=1"), ("get", "policy-decisions/?x=1"), ("get", "access-reviews/?x=1"), ("get", "people/?x=1"),
    ("get", "audit-events/?x=1"), ("get", "sweep/?x=1"), ("get", "compliance/?x=1"), ("post", "emergency-revoke/?x=1"),
    ("post", "policy-simulate/?x=1"),
])
def test_a_person_whose_role_may_not_use_the_endpoint_gets_its_403(client_for, charlie, method, url):
    response = _send(client_for(charlie), method, API + url)
    assert response.status_code == 403, response.content
    assert "x" not in response.json()


def test_a_person_who_may_not_see_the_object_gets_its_404(client_for, alice, bob, make_identity):
    identity = make_identity(alice)
    for method, url in [
        ("get", f"identities/{identity.pk}/"), ("get", f"identities/{identity.pk}/activity/"),
        ("get", f"identities/{identity.pk}/blast-radius/"), ("get", f"identities/{identity.pk}/history/"),
        ("post", f"identities/{identity.pk}/suspend/"),
    ]:
        response = _send(client_for(bob), method, f"{API}{url}?x=1")
        assert response.status_code == 404, (url, response.content)
        assert response.json() == {"detail": "Not found."}


def test_every_operation_on_an_object_that_is_not_there_is_a_404_whatever_the_parameters(client_for, sam):
    client, tried, answered = client_for(sam), 0, []
    for path, operations in _described().items():
        if not path.startswith(API) or "{" not in path:
            continue
        for method, operation in operations.items():
            kinds = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "path"}
            url = re.sub(r"{(\w+)}", lambda m: (
                str(uuid.uuid4()) if kinds[m.group(1)].get("format") == "uuid"
                else "999999999" if kinds[m.group(1)].get("type") == "integer" else "no-such-key"
            ), path)
            response = _send(client, method, f"{url}?x=1")
            tried += 1
            if response.status_code != 404:
                answered.append(f"{method.upper()} {url}: {response.status_code} {response.content[:200]}")
    assert tried > 50
    assert not answered, "\n".join(answered)
