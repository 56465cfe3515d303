"""The kinds of audit event a webhook can subscribe to, by the first word of their action (or
the whole action, where one kind of event belongs to two: a leaked personal API token is a
person's event and a leak)."""

CATEGORIES = {
    "identities": ("Identities: lifecycle, owners, attestation, campaigns, claims",
                   ("identity", "identities", "orphans", "lapses", "campaign", "claim", "claims", "attestation", "attestations", "delegation")),
    "access": ("Access: requests, reviews, grants, agents' tasks and approvals",
               ("access_request", "access_requests", "access_review", "access_reviews", "grant", "grants", "task", "approvals")),
    "credentials": ("Credentials, services and tokens",
                    ("credential", "credentials", "service", "trust_domain", "federated_issuer", "token", "tokens")),
    "security": ("Leaks, signing keys and the key-encryption key", ("exposure", "api_token.exposed", "signing_key", "encryption")),
    "policy": ("Policy versions and modes", ("policy",)),
    "people": ("People, roles, directory groups and sign-in", ("person", "api_token", "group")),
    "records": ("Compliance snapshots", ("compliance",)),
}
CHOICES = [(key, label) for key, (label, _) in CATEGORIES.items()]


def prefixes_of(categories) -> set[str]:
    return {prefix for key in categories for prefix in CATEGORIES[key][1]}


def wanted(action: str, categories) -> bool:
    """Whether an endpoint subscribed to these categories (none: everything) gets this action."""
    if not categories:
        return True
    prefixes = prefixes_of(categories)
    return action.split(".", 1)[0] in prefixes or action in prefixes
