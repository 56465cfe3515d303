"""Client authentication: private_key_jwt (RFC 7523) for agents and services, JWT-SVIDs for SPIFFE.

RFC 8725 in practice: the algorithm comes from the registered key, never from the token
(so "none", HS256-with-the-public-key and algorithm swaps fail); keys are looked up only
among the ones registered here, so jku, x5u, x5c and jwk headers are never fetched or
trusted; the typ header keeps access tokens from passing as client assertions; exp is
required and near; each jti is accepted once (UsedAssertion's unique insert).
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

import jwt
from django.db import IntegrityError, transaction

from ..models import CredentialKind, Service, UsedAssertion, WorkloadCredential
from ..public_keys import KeyCache, PublicKey, parse_jwks, parse_public_jwk
from .errors import INVALID_CLIENT, OAuthError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME = 300  # seconds an assertion may be valid ahead
LEEWAY = 30
ACCEPTED_TYP = ("jwt", "jose", "client-authentication+jwt", "")
MAX_ASSERTION_CHARS = 8192

_keys = KeyCache()


@dataclass(frozen=True)
class AuthenticatedClient:
    """An agent whose assertion checked out. Its jti is consumed inside the caller's transaction."""

    client_id: str
    identity_id: uuid.UUID
    credential_id: int
    replay_key: str
    replay_expires_at: datetime


@dataclass(frozen=True)
class AuthenticatedService:
    service: Service
    replay_key: str
    replay_expires_at: datetime


def _fail(description: str) -> OAuthError:
    return OAuthError(INVALID_CLIENT, description)


def _assertion(post) -> str:
    if post.get("client_assertion_type") != ASSERTION_TYPE or not post.get("client_assertion"):
        raise _fail(f"Authenticate with private_key_jwt: client_assertion_type={ASSERTION_TYPE} and a client_assertion.")
    assertion = post["client_assertion"]
    if len(assertion) > MAX_ASSERTION_CHARS:
        raise _fail("The client assertion is too large.")
    return assertion


def _unverified(assertion: str) -> tuple[dict, dict]:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _fail("The client assertion is not a well-formed JWT.") from None
    if str(header.get("typ", "")).lower() not in ACCEPTED_TYP:
        raise _fail("The client assertion has the wrong type (typ); an access token is not a client assertion.")
    return header, claims


def _verify(assertion: str, key: PublicKey, *, audiences: list[str], issuer: str | None, subject: str) -> dict:
    try:
        claims = jwt.decode(
            assertion,
            key.key,
            algorithms=list(key.algorithms),
            audience=audiences,
            issuer=issuer,
            subject=subject,
            leeway=LEEWAY,
            options={"require": ["exp", "sub", "aud"] + (["iss"] if issuer else [])},
        )
    except jwt.InvalidAlgorithmError:
        raise _fail("The client assertion's algorithm does not match the registered key.") from None
    except jwt.ExpiredSignatureError:
        raise _fail("The client assertion has expired.") from None
    except jwt.ImmatureSignatureError:
        raise _fail("The client assertion is not valid yet (iat or nbf in the future).") from None
    except jwt.InvalidAudienceError:
        raise _fail("The client assertion's audience (aud) must be this portal's token endpoint or issuer.") from None
    except jwt.InvalidIssuerError:
        raise _fail("The client assertion's issuer (iss) must be the client_id.") from None
    except jwt.exceptions.InvalidSubjectError:
        raise _fail("The client assertion's subject (sub) must be the client_id.") from None
    except jwt.MissingRequiredClaimError as e:
        raise _fail(f"The client assertion lacks the {e.claim!r} claim.") from None
    except jwt.PyJWTError:
        raise _fail("The client assertion's signature does not verify.") from None
    if claims["exp"] - datetime.now(dt_timezone.utc).timestamp() > MAX_LIFETIME + LEEWAY:
        raise _fail(f"The client assertion must expire within {MAX_LIFETIME} seconds.")
    return claims


def _replay(client_id: str, jti: str, exp: int) -> tuple[str, datetime]:
    key = hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
    return key, datetime.fromtimestamp(exp + LEEWAY, tz=dt_timezone.utc)


def _jti(claims: dict) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 255:
        raise _fail("The client assertion needs a unique jti (8 to 255 characters).")
    return jti


def _client_credential(client_id: str, kid: str | None) -> WorkloadCredential:
    try:
        identity_id = uuid.UUID(client_id)
    except (ValueError, TypeError, AttributeError):
        raise _fail("Unknown client or key.") from None
    credentials = WorkloadCredential.objects.filter(identity_id=identity_id, kind=CredentialKind.JWK, enabled=True)
    if kid:
        credential = credentials.filter(kid=kid).only("pk", "identity_id", "public_jwk", "thumbprint").first()
    else:
        # No kid: acceptable only when exactly one key could have signed it.
        candidates = list(credentials.only("pk", "identity_id", "public_jwk", "thumbprint")[:2])
        credential = candidates[0] if len(candidates) == 1 else None
    if credential is None:
        raise _fail("Unknown client or key.")
    return credential


def _authenticate_jwk(assertion: str, header: dict, claims: dict, post, audiences) -> AuthenticatedClient:
    client_id = post.get("client_id") or claims.get("iss")
    if not isinstance(client_id, str) or (post.get("client_id") and claims.get("iss") != client_id):
        raise _fail("The client assertion's issuer (iss) must be the client_id.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _fail("Unknown client or key.")
    credential = _client_credential(client_id, kid)
    key = _keys.get(("jwk", credential.pk, credential.thumbprint), lambda: parse_public_jwk(credential.public_jwk))
    verified = _verify(assertion, key, audiences=audiences, issuer=client_id, subject=client_id)
    replay_key, replay_expires = _replay(client_id, _jti(verified), verified["exp"])
    return AuthenticatedClient(client_id, credential.identity_id, credential.pk, replay_key, replay_expires)


def _authenticate_svid(assertion: str, header: dict, claims: dict, post, audiences) -> AuthenticatedClient:
    spiffe_id = claims["sub"]
    credential = (
        WorkloadCredential.objects.select_related("trust_domain")
        .filter(kind=CredentialKind.SPIFFE, spiffe_id=spiffe_id, enabled=True)
        .first()
    )
    if credential is None:
        raise _fail("Unknown client or key.")
    client_id = str(credential.identity_id)
    if post.get("client_id") and post["client_id"] != client_id:
        raise _fail("The client_id does not match the SPIFFE ID's identity.")
    domain = credential.trust_domain
    bundle = _keys.get(("svid", domain.pk, domain.updated_at), lambda: parse_jwks(domain.jwks))
    kid = header.get("kid")
    if isinstance(kid, str) and kid in bundle:
        key = bundle[kid]
    elif kid is None and len(bundle) == 1:
        key = next(iter(bundle.values()))
    else:
        raise _fail("Unknown client or key.")
    verified = _verify(assertion, key, audiences=audiences, issuer=None, subject=spiffe_id)
    # SPIRE may leave jti out; the SVID itself then becomes single-use at this endpoint.
    jti = verified.get("jti") or hashlib.sha256(assertion.encode()).hexdigest()
    replay_key, replay_expires = _replay(client_id, str(jti)[:255], verified["exp"])
    return AuthenticatedClient(client_id, credential.identity_id, credential.pk, replay_key, replay_expires)


def authenticate_agent(post, *, audiences: list[str]) -> AuthenticatedClient:
    """Check an agent's client assertion (or JWT-SVID). Does not consume its jti: see consume()."""
    assertion = _assertion(post)
    header, claims = _unverified(assertion)
    subject = claims.get("sub")
    if isinstance(subject, str) and subject.startswith("spiffe://"):
        return _authenticate_svid(assertion, header, claims, post, audiences)
    return _authenticate_jwk(assertion, header, claims, post, audiences)


def authenticate_service(post, *, audiences: list[str]) -> AuthenticatedService:
    """A resource server calling introspection: private_key_jwt with client_id = its audience."""
    assertion = _assertion(post)
    _, claims = _unverified(assertion)
    client_id = post.get("client_id") or claims.get("iss")
    if not isinstance(client_id, str):
        raise _fail("Unknown client or key.")
    service = Service.objects.filter(audience=client_id, is_active=True, introspection_jwk__isnull=False).first()
    if service is None:
        raise _fail("Unknown client or key.")
    key = _keys.get(("service", service.pk, service.updated_at), lambda: parse_public_jwk(service.introspection_jwk))
    verified = _verify(assertion, key, audiences=audiences, issuer=client_id, subject=client_id)
    replay_key, replay_expires = _replay(client_id, _jti(verified), verified["exp"])
    return AuthenticatedService(service, replay_key, replay_expires)


def consume(client: AuthenticatedClient | AuthenticatedService) -> None:
    """Accept the assertion's jti once. Call inside the request's transaction."""
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(key=client.replay_key, expires_at=client.replay_expires_at)
    except IntegrityError:
        raise _fail("This client assertion was already used (jti replay).") from None
