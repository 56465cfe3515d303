"""Every URL route the portal serves, as written in its urlconf, with its view; and real
objects' ids to fill their parameters with, for the walks over the demo portal."""

import itertools
import re

from django.contrib.auth import get_user_model
from django.urls import get_resolver

from inventory.models import AIIdentity, Attestation, Campaign, OwnershipClaim
from nhiportal.audit.models import AuditEvent
from nhiportal.compliance.controls import CONTROLS
from nhiportal.people.models import PersonalAPIToken
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tokens.models import (
    AccessRequest, AccessReview, AccessReviewItem, Delegation, Exposure, FederatedIssuer, Grant, IssuedToken, Service,
    SigningKey, Task, TrustDomain, WorkloadCredential,
)
from tokens.policy.models import PolicyDecision, PolicyVersion

# Programs' endpoints authenticate clients, not browser sessions (their own tests cover that),
# and Django admin sends anyone who is not staff to its sign-in.
NOT_SESSIONS = ("/admin/", "/oauth/", "/scim/", "/.well-known/", "/healthz", "/metrics", "/accounts/sso/backchannel-logout/")
# Signing out would end a walk; and public by design: the agent example, the API's description
# and the browser's icon.
SKIPPED = ("/accounts/logout/",)
PUBLIC = ("/examples/agent_client.py", "/api/schema/", "/api/docs/", "/favicon.ico")
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def all_routes() -> list[tuple[str, object]]:
    """(route, view) for each route: "/identities/<uuid:pk>/" and the like."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, route)
            else:
                yield "/" + route, pattern.callback

    return list(walk(get_resolver().url_patterns))


def session_routes() -> list[str]:
    """The routes people reach with a browser session (pages and the API), but signing out."""
    return [
        route for route in dict.fromkeys(route for route, _view in all_routes())
        if not route.startswith(NOT_SESSIONS + SKIPPED + PUBLIC) and "(?P<" not in route
    ]


# What each collection names by the id in its routes (pages and API alike), as (model,
# filters, order): real objects of the demo, in an order its seed fixes. Not by id: on
# PostgreSQL a rolled-back test does not rewind the sequences, so ids depend on what ran before.
OBJECTS = {
    "identities": (AIIdentity, {"status": "active"}, "name"),
    "tasks": (Task, {}, "identity__name", "opened_at"),
    "approvals": (Task, {"requires_approval": True}, "identity__name", "opened_at"),
    "grants": (Grant, {"revoked_at__isnull": True}, "pk"),
    "access-requests": (AccessRequest, {}, "pk"),
    "access-reviews": (AccessReview, {}, "pk"),
    "credentials": (WorkloadCredential, {}, "pk"),
    "delegations": (Delegation, {}, "pk"),
    "exposures": (Exposure, {}, "pk"),
    "campaigns": (Campaign, {}, "pk"),
    "attestations": (Attestation, {}, "pk"),
    "claims": (OwnershipClaim, {}, "pk"),
    "people": (get_user_model(), {"username__in": ["alice", "priya"]}, "username"),
    "webhooks": (WebhookEndpoint, {}, "pk"),
    "trust-domains": (TrustDomain, {}, "pk"),
    "federated-issuers": (FederatedIssuer, {}, "pk"),
    "services": (Service, {}, "pk"),
    "policy-versions": (PolicyVersion, {}, "number"),
    "policy-decisions": (PolicyDecision, {}, "pk"),
    "signing-keys": (SigningKey, {"state": "active"}, "kid"),
    "audit-events": (AuditEvent, {}, "pk"),
    "tokens": (IssuedToken, {}, "identity__name", "pk"),
    "accounts/tokens": (PersonalAPIToken, {}, "pk"),
}
# The pages' names for the same collections.
OBJECTS |= {
    "users": OBJECTS["people"], "policy/versions": OBJECTS["policy-versions"], "policy/decisions": OBJECTS["policy-decisions"],
    "keys": OBJECTS["signing-keys"], "policy/identities": OBJECTS["identities"],
}
KEYS = {PolicyVersion: "number", SigningKey: "kid"}
# For a walk as an owner: the objects that are theirs, where a collection has an owner.
THEIRS = {
    "identities": "ownerships__person", "policy/identities": "ownerships__person", "tasks": "identity__ownerships__person",
    "approvals": "identity__ownerships__person", "grants": "identity__ownerships__person",
    "credentials": "identity__ownerships__person", "delegations": "principal__ownerships__person",
    "access-requests": "requested_by", "claims": "claimant", "attestations": "person", "accounts/tokens": "user",
    "tokens": "identity__ownerships__person",
}


def real_objects(collection: str, count: int = 2, person=None) -> list:
    """The first `count` objects of the collection in the demo (none for webhooks: the demo
    has none), as their routes name them; the person's own, given one, where that means something."""
    model, filters, *order = OBJECTS[collection]
    if person is not None and collection in THEIRS:
        filters = {**filters, THEIRS[collection]: person}
    return list(model.objects.filter(**filters).order_by(*order, "pk").distinct()[:count])


def _key(obj):
    return getattr(obj, KEYS.get(type(obj), "pk"))


def collection_of(route: str) -> str:
    """ "/api/v1/policy-versions/<int:number>/mode/" -> "policy-versions"."""
    return re.split(r"[<{]", route, maxsplit=1)[0].removeprefix("/api/v1/").strip("/")


def fillings(route, person=None) -> list[dict]:
    """Values for the route's parameters naming real objects, so the gate, not a missing row,
    answers: a nested object comes with its own parent. None when the demo holds no such object."""
    # Routes name their parameters <int:pk>; the OpenAPI description names the same one {id}.
    params = [name for _kind, name in PARAM.findall(route)] or [
        "pk" if name == "id" else name for name in re.findall(r"{(\w+)}", route)
    ]
    if not params:
        return [{}]
    nested = {"credential_pk": "credentials", "token_pk": None, "task_pk": "tasks", "delegation_pk": "delegations"}
    collection = collection_of(route)
    options = {}
    for name in params:
        if name in nested:
            child = (
                IssuedToken.objects.order_by("identity__name", "pk").first() if name == "token_pk"
                else real_objects(nested[name], 1, person)[0]
            )
            parent = child.principal_id if name == "delegation_pk" else child.identity_id
            options[name], options["pk"] = [child.pk], [parent]
        elif name == "item_pk":
            item = AccessReviewItem.objects.filter(review__in=real_objects("access-reviews", 1)).order_by("pk").first()
            options[name], options["pk"] = [item.pk], [item.review_id]
        elif name == "delivery_pk":
            delivery = WebhookDelivery.objects.filter(endpoint__in=real_objects("webhooks", 1)).order_by("pk").first()
            if delivery is None:
                return []
            options[name], options["pk"] = [delivery.pk], [delivery.endpoint_id]
        elif name in options:
            continue  # set by its child
        elif name == "control_id":
            options[name] = [CONTROLS[0].id]
        elif collection in ("identities", "policy/identities") and person is None:
            # One identity in service and one suspended: their pages and actions differ.
            options[name] = [real_objects("identities", 1)[0].pk, AIIdentity.objects.filter(status="suspended").order_by("name").first().pk]
        else:
            options[name] = [_key(obj) for obj in real_objects(collection, person=person)]
    names = list(options)
    if not all(options.values()):
        return []
    return [dict(zip(names, values)) for values in itertools.product(*(options[n] for n in names))]


def fill(route, values) -> str:
    return PARAM.sub(lambda m: str(values[m.group(2)]), route)


def fill_api(path, values) -> dict:
    """An OpenAPI path's parameters ({id}, {number}, {kid}, {item_pk}) from fillings()."""
    return {name: values["pk" if name == "id" else name] for name in re.findall(r"{(\w+)}", path)}
