"""What people read for the audit log's codes: "Identity" for `inventory.aiidentity`,
"Identity: owners changed" for `identity.owners_set`. Pages show these with the code beside
them (a tooltip); the exports and the API keep the codes, which machines read.

Looked up by name, as the rest of the audit app does: audit imports no app.
"""

import uuid
from functools import lru_cache

from django.apps import apps
from django.utils.text import capfirst

# Where a model's own name would read oddly, or the type is no model.
OBJECT_TYPES = {
    "inventory.aiidentity": "Identity",
    "inventory.ownership": "Ownership",
    "inventory.ownershipclaim": "Ownership claim",
    "inventory.attestation": "Attestation",
    "inventory.campaign": "Attestation campaign",
    "auth.user": "Person",
    "auth.group": "Group",
    "people.personalapitoken": "Personal API token",
    "tokens.issuedtoken": "Access token",
    "tokens.tokenpace": "Token rate",
    "tokens.sourcenetwork": "Network",
    "tokens.exposure": "Leak report",
    "policy.policyversion": "Policy version",
    "policy.policydecision": "Policy decisions",
    "policy.refusalnotice": "Refusal notices",
    "webhooks.webhookendpoint": "Webhook",
    "nhiportal.compliance": "Compliance",
    "nhiportal.encryption": "Encryption keys",
}

# The first part of an action, as a noun.
SUBJECTS = {
    "identity": "Identity", "identities": "Identities", "api_token": "API token", "token": "Token", "tokens": "Tokens",
    "exposure": "Leak report", "claim": "Ownership claim", "claims": "Ownership claims", "orphans": "Orphaned identities",
    "lapses": "Lapsed attestations", "task": "Task", "approvals": "Task approvals", "person": "Person", "group": "Group",
}

# Actions whose verb alone would say too little.
ACTIONS = {
    "identity.owners_set": "Identity: owners changed",
    "identity.first_network": "Identity: first network seen",
    "identity.new_network": "Identity: new network seen",
    "identity.network_recognise": "Identity: network recognised",
    "identity.rate_limited": "Identity: token rate limit reached",
    "identities.score": "Identities: risk scored",
    "person.roles_set": "Person: roles changed",
    "policy.mode_set": "Policy: mode changed",
    "policy.activate": "Policy: version activated",
    "policy.version_create": "Policy: version saved",
    "grants.usage": "Grants: usage read",
    "tokens.prune": "Tokens: expired rows removed",
    "token.issue": "Token: issued",
    "token.exchange": "Token: exchanged",
    "exposure.report": "Leak report: filed",
    # A leaked personal API token is a leak report too: read, and found by "leak", with the others.
    "api_token.exposed": "Leak report: personal API token exposed",
}


@lru_cache(maxsize=512)
def object_type_label(code: str) -> str:
    """ "inventory.aiidentity" -> "Identity"; a model's own name otherwise; the code if it names nothing."""
    if code in OBJECT_TYPES:
        return OBJECT_TYPES[code]
    app_label, _, model_name = code.partition(".")
    try:
        return capfirst(str(apps.get_model(app_label, model_name)._meta.verbose_name))
    except (LookupError, ValueError):
        return code


@lru_cache(maxsize=1024)
def action_label(code: str) -> str:
    """ "identity.owners_set" -> "Identity: owners changed"; "grant.revoke" -> "Grant: revoke"."""
    if code in ACTIONS:
        return ACTIONS[code]
    subject, dot, verb = code.partition(".")
    if not dot or not subject or not verb:
        return code
    noun = SUBJECTS.get(subject, capfirst(subject.replace("_", " ")))
    return f"{noun}: {verb.replace('_', ' ').replace('.', ' ')}"


def agent_id(actor_label: str) -> uuid.UUID | None:
    """The identity an "agent:<client_id>" actor is (its client_id is the identity's id), else None."""
    prefix, _, rest = actor_label.partition(":")
    if prefix != "agent":
        return None
    try:
        return uuid.UUID(rest)
    except ValueError:
        return None
