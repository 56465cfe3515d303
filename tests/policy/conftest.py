"""Policy test helpers: services to ask for, active identities, requests and versions."""

import pytest
from django.db.models import F

from inventory.models import AIIdentity, Status
from nhiportal.audit.services import system_actor
from tokens.models import Service
from tokens.policy.active import forget_active_policy
from tokens.policy.engine import ISSUE, PolicyRequest
from tokens.policy.examples import default_examples
from tokens.policy.schema import default_policy_text
from tokens.policy.services import policy_version_activate, policy_version_create

ALLOW_ALL = """
@id("permit-everything")
permit (principal, action, resource);
"""
DENY_ALL = """
@id("forbid-everything")
forbid (principal, action, resource);
"""
ALLOW_EXAMPLE = [{"name": "anything goes", "expect": "allow"}]
DENY_EXAMPLE = [{"name": "nothing goes", "expect": "deny"}]


@pytest.fixture(autouse=True)
def fresh_policy_memo():
    forget_active_policy()
    yield
    forget_active_policy()


@pytest.fixture
def make_service(db):
    counter = {"n": 0}

    def make(owner, **fields):
        counter["n"] += 1
        values = {
            "name": f"service-{counter['n']}",
            "audience": f"https://service-{counter['n']}.example.com",
            "owner": owner,
            "environment": "production",
            "sensitivity": 2,
        }
        values.update(fields)
        return Service.objects.create(**values)

    return make


def make_active(identity: AIIdentity) -> AIIdentity:
    # Status set directly: activation's own requirements are the inventory's tests' business.
    AIIdentity.objects.filter(pk=identity.pk).update(status=Status.ACTIVE, version=F("version") + 1)
    identity.refresh_from_db()
    return identity


@pytest.fixture
def agent(alice, make_identity):
    """alice's active, supervised production agent (ceiling confidential, corp-internal)."""
    return make_active(make_identity(alice))


@pytest.fixture
def crm(alice, make_service):
    return make_service(alice, name="crm", audience="https://crm.example.com")


def issue_request(identity, service, **fields) -> PolicyRequest:
    values = dict(
        action=ISSUE,
        identity=identity,
        service=service,
        scopes=("tickets:read",),
        granted_scopes=("tickets:read",),
        requested_ttl=300,
    )
    values.update(fields)
    return PolicyRequest(**values)


def new_version(actor, text=ALLOW_ALL, examples=None, **fields):
    return policy_version_create(
        actor=actor, text=text, examples=ALLOW_EXAMPLE if examples is None else examples, **fields
    )


def active_version(actor, text=ALLOW_ALL, examples=None, **fields):
    return policy_version_activate(actor=actor, version=new_version(actor, text, examples, **fields))


def default_version(actor=None):
    return active_version(actor or system_actor("tests"), default_policy_text(), default_examples())
