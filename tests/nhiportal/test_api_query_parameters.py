"""A query parameter an operation does not document is a 400 naming it, and so is a single-valued
one given twice, rather than ignored or one of the two picked: `tokens/?staus=live` (a typo)
would list every token, for a script to revoke them all. What an operation takes is what
/api/schema/ documents for it. A caller not signed in, refused, or who may not see the object
gets the same 401, 403 or 404 as without the parameter."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from inventory.campaigns import campaign_launch
from inventory.claims import claim_create
from inventory.models import Status
from inventory.services import identity_attest
from nhiportal.api import REPEATED_PARAMETER, UNKNOWN_PARAMETER
from nhiportal.webhooks.models import WebhookDelivery
from nhiportal.webhooks.services import endpoint_create
from tests.policy.conftest import active_version
from tests.routes import collection_of, fill_api, fillings
from tests.tokens.conftest import get_token, grant, oauth  # noqa: F401
from tokens.access_requests import access_request_create
from tokens.access_reviews import access_review_launch
from tokens.delegations import delegation_create
from tokens.exposures import exposure_report_token
from tokens.models import IssuedToken
from tokens.services import service_create

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
            if response.status_code == 403 and _send(client, method, url).json() == response.json():
                continue  # one a security admin may not do either (attest what others own): its 403 first
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


# The routes that name an object under another (webhooks/{id}/deliveries/{delivery_pk}/): how
# to make a parent that is there, by its collection. A new such route says how to make its own.
def _webhook(f):
    return endpoint_create(actor=f("sam"), url="https://siem.example.com/hook")[0].pk


def _access_review(f):
    f("grant")(f("agent"), f("crm"), ["tickets:read"])
    return access_review_launch(actor=f("rita"), name="Yearly", due=timezone.localdate() + timedelta(days=7), service=f("crm")).pk


PARENTS = {"webhooks": _webhook, "access-reviews": _access_review}


def test_every_operation_on_an_object_not_there_under_one_that_is_is_a_404_whatever_the_parameters(db, request, client_for, sam):
    client, parents, tried, answered = client_for(sam), {}, 0, []
    for path, operations in _described().items():
        names = re.findall(r"{(\w+)}", path)
        if not path.startswith(API) or len(names) < 2:
            continue
        collection = collection_of(path)
        assert collection in PARENTS, f"{path}: say in PARENTS how to make the object it names first"
        if collection not in parents:
            parents[collection] = PARENTS[collection](request.getfixturevalue)
        for method, operation in operations.items():
            kinds = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "path"}
            url = re.sub(r"{(\w+)}", lambda m: str(parents[collection]) if m.group(1) == names[0] else (
                str(uuid.uuid4()) if kinds[m.group(1)].get("format") == "uuid"
                else "999999999" if kinds[m.group(1)].get("type") == "integer" else "no-such-key"
            ), path)
            without, with_it = _send(client, method, url), _send(client, method, f"{url}?x=1")
            tried += 1
            if without.status_code != 404 or with_it.status_code != 404 or with_it.json() != without.json():
                answered.append(f"{method.upper()} {url}: {without.status_code}, with ?x=1 {with_it.status_code} {with_it.content[:200]}")
    assert tried >= 3  # a delivery, its redelivery, an access review's decision
    assert not answered, "\n".join(answered)


def test_an_object_under_another_that_is_not_its_own_or_not_one_you_may_see_is_the_same_404_with_a_parameter(
    client_for, sam, alice, bob, rita, make_agent, crm, grant,
):
    # A delivery of another webhook than the one named.
    named, _ = endpoint_create(actor=sam, url="https://siem.example.com/hook")
    other, _ = endpoint_create(actor=sam, url="https://soc.example.com/hook")
    delivery = WebhookDelivery.objects.create(endpoint=other, event_id=0, action="webhook.test", error="x")
    # A grant on a service bob does not own, in a round he sees for the grant on his own service.
    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal",
                          scopes=[{"name": "pages:read", "description": "Read pages"}])
    grant(make_agent(alice, name="wiki-agent"), wiki, ["pages:read"])
    grant(make_agent(alice, name="crm-agent"), crm, ["tickets:read"])
    review = access_review_launch(actor=rita, name="Yearly", due=timezone.localdate() + timedelta(days=7))
    not_bobs = review.items.get(grant__service=crm)
    for person, method, url in [
        (sam, "get", f"webhooks/{named.pk}/deliveries/{delivery.pk}/"),
        (sam, "post", f"webhooks/{named.pk}/deliveries/{delivery.pk}/redeliver/"),
        (bob, "post", f"access-reviews/{review.pk}/items/{not_bobs.pk}/decide/"),
    ]:
        without = _send(client_for(person), method, API + url)
        assert without.status_code == 404, (url, without.content)
        with_it = _send(client_for(person), method, f"{API}{url}?x=1")
        assert with_it.status_code == 404, (url, with_it.content)
        assert with_it.json() == without.json() == {"detail": "Not found."}


# Refusals asked of the caller's role or their relation to the object: the same 403 with or
# without a parameter, and the parameter's 400 for one who may act. Each case builds what it
# needs and answers (method, refused person, their URL, person who may act, their URL).

def _orphan_claim(f):
    """bob's waiting claim on an identity whose only owner, alice, has left."""
    alice, bob = f("alice"), f("bob")
    orphan = f("make_identity")(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    return claim_create(actor=bob, identity=orphan, reason="I run the billing team now.")


def _campaign(f):
    f("agent")  # a campaign asks about an identity in service
    return campaign_launch(actor=f("rita"), name="Q4", due=timezone.localdate() + timedelta(days=10), repeat_days=90)


def _access_request(f):
    # alice, its one owner, asks: the owner stage passes, the service's reviewer decides.
    return access_request_create(
        actor=f("alice"), identity=f("agent").identity, service=f("crm"), scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies.",
    )


def _task(f):
    agent = f("agent")
    return agent, f("get_token")(agent)["task_id"]


def _delegation(f):
    """alice lets a second agent of hers act for the first."""
    helper = f("make_agent")(name="helper-agent")
    return delegation_create(actor=f("alice"), principal=f("agent").identity, delegate_id=helper.identity.pk, reason="Night shift")


def _exposure(f):
    """charlie reports one of the agent's tokens, found in a CI log."""
    return exposure_report_token(actor=f("charlie"), token=f("get_token")(f("agent"))["access_token"], where_found="CI log #4411")


def _review_item(f):
    """A round over crm with one grant in it: (the round's id, its item's id)."""
    f("grant")(f("agent"), f("crm"), ["tickets:read"])
    review = access_review_launch(actor=f("rita"), name="Yearly", due=timezone.localdate() + timedelta(days=7), service=f("crm"))
    return review.pk, review.items.get().pk


def _same_url(method, url, refused, right):
    return lambda f: (method, f(refused), url, f(right), url)


def _on(method, build, path, refused, right):
    def case(f):
        url = path.format(build(f))
        return method, f(refused), url, f(right), url
    return case


def _identity_case(method, action, refused="carol", right="alice"):
    return _on(method, lambda f: f("agent").identity.pk, "identities/{}/" + action, refused, right)


REFUSALS = [
    pytest.param(_same_url("post", "identities/", "carol", "alice"), id="identities-create"),
    pytest.param(_same_url("post", "identities/import/", "carol", "alice"), id="identities-import"),
    pytest.param(_identity_case("patch", ""), id="identities-update"),
    pytest.param(_identity_case("put", ""), id="identities-replace"),
    pytest.param(_identity_case("post", "suspend/"), id="identities-suspend"),
    pytest.param(_identity_case("post", "offboard/"), id="identities-offboard"),
    pytest.param(_identity_case("put", "owners/"), id="identities-owners-put"),
    pytest.param(_identity_case("post", "attest/", refused="sam"), id="identities-attest"),
    pytest.param(_same_url("post", "claims/", "carol", "alice"), id="claims-create"),
    pytest.param(_same_url("get", "claims/orphaned/", "charlie", "alice"), id="claims-orphaned"),
    pytest.param(_on("post", lambda f: _orphan_claim(f).pk, "claims/{}/approve/", "carol", "rita"), id="claims-approve"),
    pytest.param(_on("post", lambda f: _orphan_claim(f).pk, "claims/{}/reject/", "bob", "rita"), id="claims-reject"),
    pytest.param(_on("post", lambda f: _orphan_claim(f).pk, "claims/{}/cancel/", "rita", "bob"), id="claims-cancel"),
    pytest.param(_same_url("post", "campaigns/", "alice", "rita"), id="campaigns-create"),
    pytest.param(_on("post", lambda f: _campaign(f).pk, "campaigns/{}/close/", "carol", "rita"), id="campaigns-close"),
    pytest.param(_on("post", lambda f: _campaign(f).pk, "campaigns/{}/stop-repeating/", "carol", "rita"), id="campaigns-stop-repeating"),
    pytest.param(_on("post", lambda f: f("alice").pk, "people/{}/deactivate/", "rita", "sam"), id="people-deactivate"),
    pytest.param(_on("put", lambda f: f("alice").pk, "people/{}/roles/", "rita", "sam"), id="people-roles"),
    pytest.param(lambda f: ("post", f("sam"), f"people/{f('sam').pk}/sessions/end/", f("sam"), f"people/{f('alice').pk}/sessions/end/"),
                 id="people-themselves"),
    pytest.param(_on("post", lambda f: identity_attest(actor=f("alice"), identity=f("agent").identity).pk, "attestations/{}/confirm/", "carol", "rita"),
                 id="attestations-confirm"),
    pytest.param(_on("post", lambda f: identity_attest(actor=f("alice"), identity=f("agent").identity).pk, "attestations/{}/reject/", "alice", "rita"),
                 id="attestations-reject"),
    pytest.param(_same_url("post", "services/", "alice", "sam"), id="services-create"),
    pytest.param(_on("patch", lambda f: f("crm").pk, "services/{}/", "alice", "sam"), id="services-update"),
    pytest.param(_same_url("post", "grants/", "alice", "sam"), id="grants-create"),
    pytest.param(_on("post", lambda f: f("grant")(f("agent"), f("crm"), ["tickets:read"]).pk, "grants/{}/reduce/", "carol", "alice"), id="grants-reduce"),
    pytest.param(_on("post", lambda f: f("grant")(f("agent"), f("crm"), ["tickets:read"]).pk, "grants/{}/revoke/", "alice", "sam"), id="grants-revoke"),
    pytest.param(_on("post", lambda f: f("agent").identity.credentials.get().pk, "credentials/{}/disable/", "carol", "alice"), id="credentials-disable"),
    pytest.param(_on("post", lambda f: _task(f)[1], "tasks/{}/end/", "carol", "alice"), id="tasks-end"),
    pytest.param(_on("post", lambda f: _task(f)[1], "tasks/{}/approve/", "alice", "rita"), id="tasks-approve"),
    pytest.param(_on("post", lambda f: _task(f)[1], "tasks/{}/reject/", "alice", "rita"), id="tasks-reject"),
    pytest.param(_on("post", lambda f: _delegation(f).pk, "delegations/{}/revoke/", "carol", "alice"), id="delegations-revoke"),
    pytest.param(_on("post", lambda f: _exposure(f).pk, "exposures/{}/confirm/", "alice", "sam"), id="exposures-confirm"),
    pytest.param(_on("post", lambda f: _exposure(f).pk, "exposures/{}/dismiss/", "alice", "sam"), id="exposures-dismiss"),
    pytest.param(_on("post", lambda f: IssuedToken.objects.get(task_id=_task(f)[1]).pk, "tokens/{}/revoke/", "carol", "alice"), id="tokens-revoke"),
    pytest.param(_on("post", lambda f: _access_request(f).pk, "access-requests/{}/approve/", "alice", "rita"), id="access-requests-approve"),
    pytest.param(_on("post", lambda f: _access_request(f).pk, "access-requests/{}/reject/", "alice", "rita"), id="access-requests-reject"),
    pytest.param(_on("post", lambda f: _access_request(f).pk, "access-requests/{}/cancel/", "rita", "alice"), id="access-requests-cancel"),
    pytest.param(_on("post", lambda f: (f("grant")(f("agent"), f("crm"), ["tickets:read"]), access_review_launch(
        actor=f("rita"), name="Yearly", due=timezone.localdate() + timedelta(days=7), service=f("crm"),
    ))[1].pk, "access-reviews/{}/close/", "carol", "rita"), id="access-reviews-close"),
    pytest.param(_same_url("post", "access-reviews/", "carol", "rita"), id="access-reviews-create"),
    pytest.param(_on("post", lambda f: "{}/items/{}".format(*_review_item(f)), "access-reviews/{}/decide/", "carol", "rita"),
                 id="access-reviews-decide"),
    pytest.param(_same_url("post", "policy-versions/", "alice", "sam"), id="policy-versions-create"),
    pytest.param(_same_url("post", "policy-versions/check/", "alice", "sam"), id="policy-versions-check"),
    pytest.param(_on("post", lambda f: active_version(f("sam")).number, "policy-versions/{}/activate/", "alice", "sam"), id="policy-versions-activate"),
    pytest.param(_on("post", lambda f: active_version(f("sam")).number, "policy-versions/{}/mode/", "alice", "sam"), id="policy-versions-mode"),
    pytest.param(_on("get", lambda f: active_version(f("sam")).number, "policy-versions/{}/replay/", "alice", "rita"), id="policy-versions-replay"),
]


@pytest.mark.parametrize("case", REFUSALS)
def test_a_person_refused_the_operation_gets_the_same_403_with_an_unknown_parameter(db, request, client_for, case):
    method, refused, refused_url, right, right_url = case(request.getfixturevalue)
    without = _send(client_for(refused), method, API + refused_url)
    assert without.status_code == 403, without.content
    with_it = _send(client_for(refused), method, f"{API}{refused_url}?unknown=1")
    assert with_it.status_code == 403, with_it.content
    assert with_it.json() == without.json()
    assert without.json()["detail"] != "You do not have permission to perform this action."  # the operation's own reason
    allowed = _send(client_for(right), method, f"{API}{right_url}?unknown=1")
    assert allowed.status_code == 400, allowed.content
    assert allowed.json() == {"unknown": [UNKNOWN_PARAMETER]}
