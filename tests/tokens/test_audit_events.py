"""One audit event per state change, walked as one story: each write of the inventory, the token
service and people (their services, through the real database) against the audit actions it
must leave, in order. A write that changes nothing leaves none; a refused one leaves none and
changes nothing, even when it is refused part-way."""

from datetime import timedelta

import jwt
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from inventory.attestation_reviews import attestation_confirm
from inventory.models import Attestation
from inventory.services import (
    identity_activate,
    identity_attest,
    identity_offboard,
    identity_owners_set,
    identity_reactivate,
    identity_register,
    identity_suspend,
    identity_update,
)
from nhiportal.people.ending_sessions import person_sessions_end
from nhiportal.people.roles import REVIEWER
from nhiportal.people.services import api_token_create, api_token_revoke, person_deactivate, person_reactivate, person_roles_set
from tokens.access_requests import access_request_cancel, access_request_create
from tokens.credentials import credential_add_jwk, credential_disable
from tokens.delegations import delegation_create, delegation_revoke
from tokens.exposures import exposure_report_credential
from tokens.keys import signing_key_create, signing_keys_rotate
from tokens.models import IssuedToken, ServiceScope, Task
from tokens.policy.services import policy_seed
from tokens.revocation import task_end, token_revoke
from tokens.services import (
    grant_create,
    grant_reduce,
    grant_revoke,
    service_create,
    service_update,
    trust_domain_create,
    trust_domain_update,
)
from tokens.source_networks import network_recognise

from .conftest import CRM, Agent, new_private_key, public_jwk, token_request


def test_every_write_leaves_the_audit_actions_it_must(alice, bob, rita, sam, crm, make_agent, oauth, audit_actions_during):
    state = {}

    def register():
        state["identity"] = identity_register(
            actor=alice, name="ticket-summariser", kind="agent", environment="production", primary_owner=alice,
            purpose="Summarises tickets.", trust_boundary="corp-internal", sensitivity_ceiling=2,
            offboarding_plan="Disable the key, end tasks.",
        )

    def identity():
        state["identity"].refresh_from_db()
        return state["identity"]

    def add_key():
        state["key"] = new_private_key()
        state["credential"] = credential_add_jwk(actor=alice, identity=identity(), jwk=public_jwk(state["key"], kid="k1"))

    def edit(purpose):
        return lambda: identity_update(actor=alice, identity=identity(), expected_version=identity().version, purpose=purpose)

    def owners(*backups):
        return lambda: identity_owners_set(actor=alice, identity=identity(), primary_owner=alice, backup_owners=backups)

    def give():
        state["grant"] = grant_create(
            actor=sam, identity=identity(), service=crm, scopes=["tickets:read", "tickets:write"],
            ends_at=timezone.now() + timedelta(days=30), justification="Summaries.",
        )

    def issue():
        agent = Agent(identity=identity(), private_key=state["key"], kid="k1")
        response = token_request(oauth, agent, resource=CRM)
        assert response.status_code == 200, response.content
        state["token"] = IssuedToken.objects.get(jti=_jti(response.json()["access_token"]))

    helper = make_agent(bob)

    def delegate():
        state["delegation"] = delegation_create(actor=alice, principal=identity(), delegate_id=helper.identity.pk, reason="Triage helper")

    def second_key():
        state["second"] = credential_add_jwk(actor=alice, identity=identity(), jwk=public_jwk(new_private_key(), kid="k2"))

    def ask():
        state["request"] = access_request_create(
            actor=alice, identity=identity(), service=crm, scopes=["customers:export"],
            ends_at=timezone.now() + timedelta(days=7), justification="Monthly export.",
        )

    def bundle(kid):
        return {"keys": [public_jwk(state.setdefault(f"bundle-{kid}", new_private_key()), kid=kid, use="jwt-svid")]}

    def api_token():
        state["api_token"], _ = api_token_create(user=bob, name="ci", days=30)

    scopes = [{"name": s.name, "description": s.description, "consequential": s.consequential} for s in crm.scopes.all()]
    story = [
        ("register an identity", register, ["identity.register"]),
        ("add a public key", add_key, ["credential.add"]),
        ("activate it", lambda: identity_activate(actor=alice, identity=identity()), ["identity.activate"]),
        ("edit its purpose", edit("Summarises support tickets."), ["identity.update"]),
        ("save the same purpose", edit("Summarises support tickets."), []),
        ("add a backup owner", owners(bob), ["identity.owners_set"]),
        ("save the same owners", owners(bob), []),
        ("grant it access", give, ["grant.create"]),
        ("seed the policy", lambda: policy_seed(actor=sam), ["policy.version_create", "policy.activate"]),
        # Three facts: the first signing key, made on first use; the token; the first network
        # the identity asked from.
        ("issue a token", issue, ["signing_key.create", "token.issue", "identity.first_network"]),
        ("revoke the token", lambda: token_revoke(token=state["token"], actor=alice), ["token.revoke"]),
        ("revoke it again", lambda: token_revoke(token=state["token"], actor=alice), []),
        ("end its task", lambda: task_end(task=Task.objects.get(pk=state["token"].task_id), actor=alice), ["task.end"]),
        ("end it again", lambda: task_end(task=Task.objects.get(pk=state["token"].task_id), actor=alice), []),
        ("take a scope off the grant", lambda: grant_reduce(actor=sam, grant=state["grant"], remove=["tickets:write"], reason="Unused."), ["grant.reduce"]),
        ("lend its authority", delegate, ["delegation.create"]),
        ("end the delegation", lambda: delegation_revoke(actor=alice, delegation=state["delegation"], reason="Done."), ["delegation.revoke"]),
        ("end it again", lambda: delegation_revoke(actor=alice, delegation=state["delegation"], reason="Done."), []),
        ("add a second key", second_key, ["credential.add"]),
        ("disable it", lambda: credential_disable(actor=alice, credential=state["second"], reason="Rotated."), ["credential.disable"]),
        ("disable it again", lambda: credential_disable(actor=alice, credential=state["second"], reason="Rotated."), []),
        ("attest the identity", lambda: identity_attest(actor=alice, identity=identity(), note="Still needed."), ["identity.attest"]),
        ("confirm the attestation", lambda: attestation_confirm(actor=rita, attestation=Attestation.objects.latest("attested_at")), ["attestation.confirm"]),
        ("ask for more access", ask, ["access_request.create"]),
        ("withdraw the request", lambda: access_request_cancel(actor=alice, access_request=state["request"]), ["access_request.cancel"]),
        ("save the service unchanged", lambda: service_update(actor=sam, service=crm, scopes=scopes), []),
        ("describe the service", lambda: service_update(actor=sam, service=crm, description="The CRM."), ["service.update"]),
        ("register a trust domain", lambda: state.update(domain=trust_domain_create(actor=sam, name="prod.example.com", jwks=bundle("td-1"))), ["trust_domain.create"]),
        ("paste the same bundle", lambda: trust_domain_update(actor=sam, trust_domain=state["domain"], jwks=bundle("td-1")), []),
        ("paste a rotated bundle", lambda: trust_domain_update(actor=sam, trust_domain=state["domain"], jwks=bundle("td-2")), ["trust_domain.update"]),
        ("publish a next signing key", lambda: signing_key_create(actor=sam), ["signing_key.create"]),
        ("rotate the signing keys", lambda: signing_keys_rotate(actor=sam), ["signing_key.rotate"]),
        ("recognise a network", lambda: network_recognise(actor=alice, identity=identity(), address="10.20.3.4"), ["identity.network_recognise"]),
        ("suspend the identity", lambda: identity_suspend(actor=alice, identity=identity(), reason="Odd traffic"), ["identity.suspend"]),
        ("reactivate it", lambda: identity_reactivate(actor=alice, identity=identity()), ["identity.reactivate"]),
        # Two changes: the key is disabled, and the exposure is on record.
        ("report its key leaked", lambda: exposure_report_credential(actor=alice, credential=state["credential"], where_found="a pastebin"), ["credential.disable", "exposure.report"]),
        ("revoke the grant", lambda: grant_revoke(actor=sam, grant=state["grant"], reason="Done."), ["grant.revoke"]),
        ("revoke it again", lambda: grant_revoke(actor=sam, grant=state["grant"], reason="Done."), []),
        ("offboard the identity", lambda: identity_offboard(actor=alice, identity=identity(), reason="Project over"), ["identity.offboard"]),
        ("create an API token", api_token, ["api_token.create"]),
        ("revoke it", lambda: api_token_revoke(token=state["api_token"], actor=bob), ["api_token.revoke"]),
        ("revoke it again", lambda: api_token_revoke(token=state["api_token"], actor=bob), []),
        ("give the same roles", lambda: person_roles_set(person=bob, roles={"owner"}, actor=sam), []),
        ("give other roles", lambda: person_roles_set(person=bob, roles={"owner", REVIEWER}, actor=sam), ["person.roles_set"]),
        ("sign out a person with no session", lambda: person_sessions_end(person=bob, actor=sam, reason="Lost laptop."), []),
        ("deactivate a person", lambda: person_deactivate(person=bob, actor=sam, reason="Left."), ["person.deactivate"]),
        ("reactivate them", lambda: person_reactivate(person=bob, actor=sam), ["person.reactivate"]),
    ]
    walked = [(name, audit_actions_during(write)[1]) for name, write, _ in story]
    assert walked == [(name, expected) for name, _, expected in story]


def _jti(access_token: str) -> str:
    return jwt.decode(access_token, options={"verify_signature": False})["jti"]


def test_a_write_refused_part_way_leaves_nothing_written(sam, crm, audit_actions_during):
    """The new scope rows are written before the clashing audience is found: all go back."""
    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, scopes=["pages:read"])

    def clash():
        with pytest.raises(ValidationError):
            service_update(actor=sam, service=wiki, audience=crm.audience, scopes=["pages:read", "pages:write"])

    _, actions = audit_actions_during(clash)

    assert actions == []
    assert list(ServiceScope.objects.filter(service=wiki).values_list("name", flat=True)) == ["pages:read"]
    wiki.refresh_from_db()
    assert wiki.audience == "https://wiki.example.com"
