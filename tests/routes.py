"""Every URL route the portal serves, as written in its urlconf, with its view; and real
objects' ids to fill their parameters with, for the walks over the demo portal."""

import itertools
import re

from django.urls import get_resolver

from inventory.models import AIIdentity
from nhiportal.compliance.controls import CONTROLS
from tokens.models import AccessReviewItem, Delegation, IssuedToken, SigningKey, Task, WorkloadCredential

# Programs' endpoints authenticate clients, not browser sessions (their own tests cover that),
# and Django admin sends anyone who is not staff to its sign-in.
NOT_SESSIONS = ("/admin/", "/oauth/", "/scim/", "/.well-known/", "/healthz", "/metrics", "/accounts/sso/backchannel-logout/")
# Signing out would end a walk; and public by design: the agent example and the API's description.
SKIPPED = ("/accounts/logout/",)
PUBLIC = ("/examples/agent_client.py", "/api/schema/", "/api/docs/")
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


def _first(model, **filters):
    # By a field the demo's seed fixes: random UUIDs would pick another object every run.
    order = {AIIdentity: ("name",), Task: ("identity__name", "opened_at")}.get(model, ("pk",))
    found = model.objects.filter(**filters).order_by(*order).first()
    assert found is not None, f"the demo has no {model.__name__} {filters}"
    return found


def fillings(route) -> list[dict]:
    """Values for the route's parameters naming real objects, so the gate, not a missing row,
    answers: a nested object comes with its own parent."""
    params = dict((name, kind) for kind, name in PARAM.findall(route))
    if not params:
        return [{}]
    nested = {
        "credential_pk": lambda: _first(WorkloadCredential),
        "token_pk": lambda: _first(IssuedToken),
        "task_pk": lambda: _first(Task),
        "delegation_pk": lambda: _first(Delegation),
    }
    options = {}
    for name, kind in params.items():
        if name in nested:
            child = nested[name]()
            parent = child.principal_id if name == "delegation_pk" else child.identity_id
            options[name], options["pk"] = [child.pk], [parent]
        elif name == "item_pk":
            item = _first(AccessReviewItem)
            options[name], options["pk"] = [item.pk], [item.review_id]
        elif name in options:
            continue  # set by its child
        elif kind == "uuid" and "identities/" in route:
            options[name] = [_first(AIIdentity, status="active").pk, _first(AIIdentity, status="suspended").pk]
        elif kind == "uuid":  # a task: to approve, end or read
            options[name] = [_first(Task, requires_approval=True).pk, _first(Task).pk]
        elif name == "kid":
            options[name] = [_first(SigningKey, state="active").kid]
        elif name == "control_id":
            options[name] = [CONTROLS[0].id]
        else:
            options[name] = [1, 2]
    names = list(options)
    return [dict(zip(names, values)) for values in itertools.product(*(options[n] for n in names))]


def fill(route, values) -> str:
    return PARAM.sub(lambda m: str(values[m.group(2)]), route)
