"""Agents with real keys, a service with scopes, grants: what the token tests start from."""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.test import Client
from django.utils import timezone
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from inventory.services import identity_activate
from tokens.credentials import credential_add_jwk
from tokens.services import grant_create, service_create

ISSUER = "http://testserver"
TOKEN_URL = f"{ISSUER}/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CRM = "https://crm.example.com"
TASK = [{"type": "agent_task", "intent": "Summarise open tickets", "actions": ["read"], "sensitivity": "internal"}]


def new_private_key(alg: str = "ES256"):
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private_key, **members) -> dict:
    public = private_key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ed25519.Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, **members}


@dataclass
class Agent:
    identity: object
    private_key: object
    kid: str
    alg: str = "ES256"

    @property
    def client_id(self) -> str:
        return str(self.identity.pk)

    def assertion(self, *, aud=TOKEN_URL, lifetime=60, headers=None, key=None, alg=None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": self.client_id, "sub": self.client_id, "aud": aud, "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        header = {"kid": self.kid, **(headers or {})}
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(payload, key or self.private_key, algorithm=alg or self.alg, headers=header)

    def auth(self, **assertion_kwargs) -> dict:
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(**assertion_kwargs)}


@pytest.fixture
def make_agent(make_identity, alice):
    """An identity with a registered key pair (the private half kept by the test), active by default."""

    def make(owner=None, *, alg="ES256", activate=True, kid=None, **fields):
        owner = owner or alice
        identity = make_identity(owner, credential=False, **fields)
        private_key = new_private_key(alg)
        members = {"kid": kid} if kid else {}
        if alg == "PS256":  # an RSA key is used with RS256 unless its JWK names another algorithm
            members["alg"] = alg
        credential = credential_add_jwk(actor=owner, identity=identity, jwk=public_jwk(private_key, **members))
        if activate:
            identity = identity_activate(actor=owner, identity=identity)
        identity.refresh_from_db()
        return Agent(identity=identity, private_key=private_key, kid=credential.kid, alg=alg)

    return make


@pytest.fixture
def agent(make_agent):
    return make_agent()


@pytest.fixture
def crm(sam):
    return service_create(
        actor=sam,
        name="CRM",
        audience=CRM,
        owner=sam,
        trust_boundary="corp-internal",
        scopes=[
            {"name": "tickets:read", "description": "Read tickets"},
            {"name": "tickets:write", "description": "Change tickets"},
            {"name": "customers:export", "description": "Export customer data", "consequential": True},
        ],
    )


@pytest.fixture
def grant(sam):
    def give(agent_or_identity, service, scopes, *, days=30, **kwargs):
        identity = getattr(agent_or_identity, "identity", agent_or_identity)
        return grant_create(
            actor=sam, identity=identity, service=service, scopes=scopes,
            ends_at=timezone.now() + timedelta(days=days), justification="tests", **kwargs,
        )

    return give


@pytest.fixture
def oauth():
    """An anonymous client, as an agent or a resource server would be."""
    return Client()


def token_request(client, agent, *, assertion=None, address="127.0.0.1", **params) -> "object":
    data = {"grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK)}
    data.update(params)
    data = {k: v for k, v in data.items() if v is not None}
    data.setdefault("client_assertion_type", ASSERTION_TYPE)
    data["client_assertion"] = assertion or agent.assertion()
    return client.post("/oauth/token", data, REMOTE_ADDR=address)


@pytest.fixture
def get_token(oauth, crm, grant):
    """Issue a token for an agent (granting tickets:read and tickets:write on the CRM first)."""

    def issue(agent, **params):
        if not agent.identity.grants.exists():
            grant(agent, crm, ["tickets:read", "tickets:write"])
        response = token_request(oauth, agent, **params)
        assert response.status_code == 200, response.content
        return response.json()

    return issue
