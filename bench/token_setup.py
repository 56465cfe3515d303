"""Prepare the token benchmark's database: one active agent with a key, a service, a grant.

Run by bench/token_endpoint.py in the benchmark's environment (its own SQLite database).
Writes the agent's and the service's private keys (scratch keys for this database only)
and the ids the load generator needs to bench/results/tokens/fixture.json.
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

import django

django.setup()

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from jwt.algorithms import ECAlgorithm  # noqa: E402

from inventory.models import AIIdentity  # noqa: E402
from inventory.services import identity_activate, identity_register  # noqa: E402
from nhiportal.audit.services import system_actor  # noqa: E402
from nhiportal.people.roles import SECURITY_ADMIN  # noqa: E402
from nhiportal.people.services import role_assign  # noqa: E402
from tokens.credentials import credential_add_jwk  # noqa: E402
from tokens.models import Service  # noqa: E402
from tokens.services import grant_create, service_create  # noqa: E402

AUDIENCE = "https://bench-crm.example.com"
AGENT = "bench-agent"


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def public_jwk(key, kid: str) -> dict:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}


# The benchmark is one agent asking as fast as it can: a pipeline's limit, high enough never to
# refuse it, so each token still pays for the rate-limit check and its write.
RATE_PER_MINUTE = 1_000_000


def main(out: Path) -> None:
    if out.exists() and AIIdentity.objects.filter(name=AGENT).exists():
        # A database from before the rate limit existed: give its agent the same limit.
        AIIdentity.objects.filter(name=AGENT).update(token_rate_per_minute=RATE_PER_MINUTE)
        return
    call_command("policy_seed", verbosity=0)
    User = get_user_model()
    sam, created = User.objects.get_or_create(username="bench-admin")
    if created:
        role_assign(user=sam, role=SECURITY_ADMIN, actor=system_actor("bench"))
    agent_key, service_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    service = service_create(
        actor=sam, name="Bench CRM", audience=AUDIENCE, owner=sam, sensitivity=2,
        scopes=[{"name": "contacts:read"}, {"name": "contacts:write"}],
        introspection_jwk=public_jwk(service_key, "bench-service"),
    )
    identity = identity_register(
        actor=sam, name=AGENT, kind="agent", environment="production", primary_owner=sam,
        purpose="Load for the token benchmark.", trust_boundary="corp-internal", autonomy="supervised",
        sensitivity_ceiling=3, offboarding_plan="Delete the benchmark database.",
        # As a production agent should be, so each token pays for the network check.
        allowed_networks=["127.0.0.0/8", "10.0.0.0/8"],
        token_rate_per_minute=RATE_PER_MINUTE,
    )
    credential_add_jwk(actor=sam, identity=identity, jwk=public_jwk(agent_key, "bench-agent-key"))
    identity_activate(actor=sam, identity=identity)
    # A second security admin grants: nobody grants an identity they own (tokens/services.py).
    granter, created = User.objects.get_or_create(username="bench-granter")
    if created:
        role_assign(user=granter, role=SECURITY_ADMIN, actor=system_actor("bench"))
    grant_create(
        actor=granter, identity=identity, service=Service.objects.get(pk=service.pk), scopes=["contacts:read", "contacts:write"],
        ends_at=timezone.now() + timedelta(days=365), justification="benchmark",
    )
    out.touch(mode=0o600)
    out.chmod(0o600)  # the scratch agent's and service's private keys
    out.write_text(json.dumps({
        "client_id": str(identity.pk), "agent_kid": "bench-agent-key", "agent_key": pem(agent_key),
        "service_client_id": AUDIENCE, "service_kid": "bench-service", "service_key": pem(service_key),
        "audience": AUDIENCE,
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
