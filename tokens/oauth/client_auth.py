"""Client authentication: private_key_jwt (RFC 7523) for agents and services, JWT-SVIDs for
SPIFFE, and federated workload tokens (an OIDC issuer's, as tokens/federation.py trusts them).

Two assertion types. jwt-bearer (RFC 7523) takes an agent's own assertion, a platform's
token, and, as the portal took them before the SPIFFE profile existed, JWT-SVIDs: those lack
the iss and jti RFC 7523 asks for, and their sub is a SPIFFE ID, not the client_id; clients
already send them so, and the checks below stand in (the trust domain's keys, the SPIFFE ID
registered to one identity, single use). jwt-spiffe (draft-ietf-oauth-spiffe-client-auth)
is the type made for a JWT-SVID as it is, and takes nothing else.

RFC 8725 in practice: the algorithm comes from the registered key, never from the token
(so "none", HS256-with-the-public-key and algorithm swaps fail), and each key has exactly
one (tokens/public_keys.py: its JWK's alg, else its type's default); keys are looked up only
among the ones registered here, so jku, x5u, x5c and jwk headers are never fetched or
trusted; the typ header keeps access tokens from passing as client assertions; exp is
required and near; each jti is accepted once (UsedAssertion's unique insert).
"""

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from nhiportal import prepared_sql
from nhiportal.audit.services import agent_actor, audit_record
from nhiportal.conf import nhi_setting

from .. import hot_path
from ..federation import WILDCARD, subject_matches
from ..jws import LATEST, ClaimsError, CompactJWS, JWSError, check_claims, parse
from ..models import CredentialKind, FederatedIssuer, Service, UsedAssertion, WorkloadCredential
from ..public_keys import ALGORITHMS, KeyCache, PublicKey, parse_jwks, parse_public_jwk
from .errors import INVALID_CLIENT, OAuthError
from .params import unique_param

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SPIFFE_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"
AGENT_ASSERTION_TYPES = (ASSERTION_TYPE, SPIFFE_ASSERTION_TYPE)
MAX_LIFETIME = 300  # seconds an assertion may be valid ahead
LEEWAY = 30
ACCEPTED_TYP = ("jwt", "jose", "client-authentication+jwt", "")
MAX_ASSERTION_CHARS = 8192

_keys = KeyCache()
# (identity id, kid) -> (credential id, thumbprint). A kid names one JWK credential of an
# identity for good: credential_unique_kid keeps it taken after the credential is disabled,
# credentials are never deleted, and a credential's key never changes. So the lookup is
# remembered per process, and each endpoint checks that the credential is still enabled
# inside its own transaction (hot_path.lock_identity when issuing, confirm() elsewhere).
_credentials_by_kid = KeyCache()
_service_assertions: dict[tuple, float] = {}  # verified introspection assertions -> their exp


@dataclass(frozen=True)
class AuthenticatedClient:
    """An agent whose assertion checked out. Its jti is consumed inside the caller's transaction."""

    client_id: str
    identity_id: uuid.UUID
    credential_id: int
    replay_key: str  # empty: a token its issuer lets agents present again (FederatedIssuer.reusable)
    replay_expires_at: datetime | None
    address: str = ""  # where the request came from (REMOTE_ADDR), for the identity's allowed networks
    credential_kind: str = CredentialKind.JWK  # how it proved itself, for policy (context.credential)
    platform_token_key: str = ""  # the platform token it presented, as a leak report names it (leaked_key)


@dataclass(frozen=True)
class AuthenticatedService:
    service: Service


def _fail(description: str) -> OAuthError:
    return OAuthError(INVALID_CLIENT, description)


def _assertion(post, types=(ASSERTION_TYPE,)) -> tuple[str, str]:
    """The assertion's type (one of `types`) and the assertion."""
    # RFC 6749 section 3.2: each parameter at most once (invalid_request otherwise). Checked
    # here, before any of them is read, so that post.get() below never picks one of two.
    assertion_type, assertion = unique_param(post, "client_assertion_type"), unique_param(post, "client_assertion")
    unique_param(post, "client_id")
    if assertion_type not in types or not assertion:
        svid = f" (or {SPIFFE_ASSERTION_TYPE} for a JWT-SVID)" if SPIFFE_ASSERTION_TYPE in types else ""
        raise _fail(f"Authenticate with private_key_jwt: client_assertion_type={ASSERTION_TYPE}{svid} and a client_assertion.")
    if len(assertion) > MAX_ASSERTION_CHARS:
        raise _fail("The client assertion is too large.")
    return assertion_type, assertion


def _parsed(assertion: str) -> CompactJWS:
    try:
        jws = parse(assertion)
    except JWSError:
        raise _fail("The client assertion is not a well-formed JWT.") from None
    if str(jws.header.get("typ", "")).lower() not in ACCEPTED_TYP:
        raise _fail("The client assertion has the wrong type (typ); an access token is not a client assertion.")
    return jws


CLAIM_PROBLEMS = {
    "expired": "The client assertion has expired.",
    "in the future": "The client assertion is not valid yet (iat or nbf in the future).",
    "wrong audience": "The client assertion's audience (aud) must be this portal's token endpoint or issuer.",
    "wrong issuer": "The client assertion's issuer (iss) must be the client_id.",
    "wrong subject": "The client assertion's subject (sub) must be the client_id.",
}


def _unknown(reason: str) -> OAuthError:
    """A refusal before the signature proved the caller holds the key. The caller hears what
    it hears for a key that does not exist, so refusals cannot tell it which client ids and
    key ids do; the reason goes to the credential's owners only (_note_refusal)."""
    error = _fail("Unknown client or key.")
    error.reason = reason
    return error


# What an owner can do when an assertion used the other algorithm of a key that names none.
NEW_KEY_WITH_ALG = 'register a new key whose JWK says "alg": "{alg}"'


def _wrong_algorithm(key: PublicKey, alg, remedy: str) -> OAuthError:
    """RFC 8725 section 3.1: a key verifies under its one algorithm only, and the key is never
    tried under another (not even to word the refusal). The caller hears what it hears for a
    key that does not exist; the owners read which algorithm the key is used with."""
    kty = key.jwk["kty"]
    if alg not in ALGORITHMS[kty]:
        return _unknown("The client assertion's algorithm does not match the registered key.")
    if "alg" in key.jwk:
        return _unknown(f'The key is used with {key.algorithm} only, as the "alg" of its JWK says; the assertion used {alg}.')
    return _unknown(
        f'This {kty} key names no "alg", so it is used with {key.algorithm} only (RFC 8725). '
        f"To sign with {alg}, {remedy.format(alg=alg)}."
    )


def _verify(
    jws: CompactJWS, key: PublicKey, *, audiences: list[str], issuer: str | None, subject: str, max_age: int | None = None,
    sole_audience: str | None = None, alg_remedy: str = NEW_KEY_WITH_ALG,
) -> dict:
    """The claims of a signed assertion. Without max_age its exp must be near, as a client
    assertion's is; with it (a platform's token, whose lifetime the platform sets: six hours
    for GitHub Actions) it must have been issued (iat) at most max_age seconds ago.
    sole_audience: aud must be that value and no other (a jwt-spiffe JWT-SVID's)."""
    alg = jws.header.get("alg")
    if alg not in key.algorithms:
        raise _wrong_algorithm(key, alg, alg_remedy)
    if not jws.verify(key.key, alg):
        raise _unknown("The client assertion's signature does not verify.")
    claims = jws.claims
    now = time.time()
    try:
        check_claims(
            claims, now=now, leeway=LEEWAY, audiences=None if sole_audience else audiences, issuer=issuer, subject=subject,
            require=("exp", "sub", "aud") + (("iss",) if issuer else ()) + (("iat",) if max_age else ()),
        )
    except ClaimsError as e:
        raise _fail(CLAIM_PROBLEMS.get(e.problem, f"The client assertion's {e.claim!r} claim is {e.problem}.")) from None
    if sole_audience and claims["aud"] not in (sole_audience, [sole_audience]):
        raise _fail(f"A JWT-SVID sent as jwt-spiffe names this portal's issuer ({sole_audience}) as its only audience (aud).")
    if max_age is None and claims["exp"] - now > MAX_LIFETIME + LEEWAY:
        raise _fail(f"The client assertion must expire within {MAX_LIFETIME} seconds.")
    if max_age is not None and now - claims["iat"] > max_age + LEEWAY:
        raise _fail(f"The token was issued more than {max_age} seconds ago.")
    return claims


def _replay(client_id: str, jti: str, exp: float) -> tuple[str, datetime]:
    key = hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
    # A platform may set exp as late as a datetime goes (9999-12-31): the leeway must not push
    # the row's expiry past it, which no datetime holds (a 500, not a token).
    return key, datetime.fromtimestamp(min(exp + LEEWAY, LATEST), tz=dt_timezone.utc)


def _jti(claims: dict) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 255:
        raise _fail("The client assertion needs a unique jti (8 to 255 characters).")
    return jti


def _client_key(client_id: str, kid: str | None) -> tuple[uuid.UUID, int, PublicKey]:
    """The identity, the credential and its parsed key that may have signed this assertion."""
    try:
        identity_id = uuid.UUID(client_id)
    except (ValueError, TypeError, AttributeError):
        raise _fail("Unknown client or key.") from None
    if str(identity_id) != client_id:
        # One spelling only (lower case, hyphens): the client_id becomes the token's sub and
        # client_id, and one agent must not reach services under several subjects.
        raise _fail("The client_id is the identity's id as the portal writes it: lower case, with hyphens.")

    def lookup():
        rows = hot_path.client_keys(identity_id, kid)
        # No kid: acceptable only when exactly one key could have signed it.
        if len(rows) != 1:
            raise _fail("Unknown client or key.")
        return rows[0]

    # Without a kid the answer depends on how many keys are enabled now: never remembered.
    credential_id, thumbprint = _credentials_by_kid.get((identity_id, kid), lookup) if kid else lookup()
    key = _keys.get(
        ("jwk", credential_id, thumbprint),
        lambda: parse_public_jwk(WorkloadCredential.objects.values_list("public_jwk", flat=True).get(pk=credential_id)),
    )
    return identity_id, credential_id, key


def _disabled_key_signed(jws: CompactJWS, client_id: str, kid: str | None) -> int | None:
    """The disabled JWK credential of this client named by kid whose key signed the assertion:
    whoever holds a key disabled (reported leaked, say) is still trying. Looked for only once
    the enabled keys refused, so a working agent never pays for it."""
    if not kid:
        return None
    try:
        identity_id = uuid.UUID(client_id)
    except (ValueError, TypeError, AttributeError):
        return None
    row = WorkloadCredential.objects.filter(
        identity_id=identity_id, kind=CredentialKind.JWK, kid=kid, enabled=False,
    ).values_list("pk", "public_jwk").first()
    if row is None:
        return None
    try:
        key = parse_public_jwk(row[1])
    except ValidationError:
        return None
    alg = jws.header.get("alg")
    return row[0] if alg in key.algorithms and jws.verify(key.key, alg) else None


def note_disabled_key_use(credential_id: int, address: str) -> None:
    """A disabled credential's key signed a request: note it for its owners, and tell security
    (one credential.disabled_key_used event, which webhooks push) at most once a minute."""
    now = timezone.now()
    with transaction.atomic():
        noted = WorkloadCredential.objects.filter(pk=credential_id, enabled=False).filter(
            Q(refused_at__isnull=True) | Q(refused_at__lt=now - REFUSAL_NOTED_EVERY)
        ).update(refused_at=now, refusal=f"Its disabled key signed a request{f' from {address}' if address else ''}: whoever holds the private key is still trying."[:200])
        if not noted:
            return
        credential = WorkloadCredential.objects.select_related("identity").get(pk=credential_id)
        audit_record(
            actor=agent_actor(str(credential.identity_id)), action="credential.disabled_key_used", obj=credential,
            object_repr=f"{credential.label or credential.kid} of {credential.identity.name}"[:200], identity=credential.identity_id,
            after={"address": address, "disabled_at": credential.disabled_at, "disable_reason": credential.disable_reason},
        )


def _authenticate_jwk(jws: CompactJWS, post, audiences, address: str) -> AuthenticatedClient:
    claims = jws.claims
    client_id = post.get("client_id") or claims.get("iss")
    if not isinstance(client_id, str) or (post.get("client_id") and claims.get("iss") != client_id):
        raise _fail("The client assertion's issuer (iss) must be the client_id.")
    kid = jws.header.get("kid")
    if kid is not None and (not isinstance(kid, str) or len(kid) > 128):
        raise _fail("Unknown client or key.")
    try:
        identity_id, credential_id, key = _client_key(client_id, kid)
    except OAuthError:
        disabled = _disabled_key_signed(jws, client_id, kid)
        if disabled is not None:
            note_disabled_key_use(disabled, address)
        raise
    try:
        verified = _verify(jws, key, audiences=audiences, issuer=client_id, subject=client_id)
        if isinstance(verified["aud"], list) and len(verified["aud"]) > 1:
            # An assertion addressed to other parties too could be replayed here by any of them
            # (the audience injection draft-ietf-oauth-rfc7523bis closes): this portal alone.
            raise _fail("The client assertion's audience (aud) must name this portal alone: its token endpoint or issuer, one value.")
        replay_key, replay_expires = _replay(client_id, _jti(verified), verified["exp"])
    except OAuthError as error:
        raise _refused(error, credential_id) from None
    return AuthenticatedClient(client_id, identity_id, credential_id, replay_key, replay_expires, address)


REFUSAL_NOTED_EVERY = timedelta(seconds=60)


def _refused(error: OAuthError, credential_id: int) -> OAuthError:
    """Mark a refusal of an assertion that named a credential, so authenticate_agent notes it."""
    error.credential_id = credential_id
    return error


def _note_refusal(credential_id: int, description: str) -> None:
    """Keep the latest refusal on the credential, for its owners: at most one write a minute,
    since whoever knows a key id or a subject can send refused assertions at will."""
    now = timezone.now()
    WorkloadCredential.objects.filter(pk=credential_id).filter(
        Q(refused_at__isnull=True) | Q(refused_at__lt=now - REFUSAL_NOTED_EVERY)
    ).update(refused_at=now, refusal=description[:200])


def _bundle_key(jws: CompactJWS, bundle: dict[str, PublicKey]) -> PublicKey:
    """The key of a trust domain's bundle or an issuer's JWKS that signed it: named by kid, or
    the only one."""
    kid = jws.header.get("kid")
    if isinstance(kid, str) and kid in bundle:
        return bundle[kid]
    if kid is None and len(bundle) == 1:
        return next(iter(bundle.values()))
    raise _fail("Unknown client or key.")


def _single_use(client_id: str, verified: dict, jws: CompactJWS) -> tuple[str, datetime]:
    """The replay key of a token its issuer may leave without a jti: the token itself then
    becomes single-use at this endpoint."""
    if "jti" not in verified:
        # The signed bytes, never the signature: an ECDSA signature (r, s) has a twin (r, n - s)
        # that verifies as well, so a key taken from the signature would let the token in twice.
        return _replay(client_id, hashlib.sha256(jws.signing_input).hexdigest(), verified["exp"])
    return _replay(client_id, _jti(verified), verified["exp"])


def leaked_key(jws: CompactJWS) -> str:
    """The UsedAssertion key that shuts out a platform token reported leaked (tokens/exposures.py):
    from its signed bytes, as _single_use's, so no re-encoding of its signature gets past it."""
    return hashlib.sha256(b"leaked\x00" + jws.signing_input).hexdigest()


@dataclass(frozen=True)
class PlatformToken:
    """A token a registered platform signed for the subject of one of its federated credentials."""

    issuer: FederatedIssuer
    credential: WorkloadCredential
    claims: dict
    leaked_key: str


def platform_token(token: str) -> PlatformToken | None:
    """The federated credential a platform token is for, its signature checked against the
    issuer's registered keys, whatever its age or audience: what is reported when one leaks.
    An enabled credential before a disabled one, as their subjects may repeat. None when no
    registered issuer signed it or no credential names its subject."""
    try:
        jws = parse(token.strip())
    except JWSError:
        return None
    iss, sub = jws.claims.get("iss"), jws.claims.get("sub")
    issuer = FederatedIssuer.objects.filter(issuer=iss).first() if isinstance(iss, str) else None
    if issuer is None or not isinstance(sub, str):
        return None
    try:
        key = _bundle_key(jws, parse_jwks(issuer.jwks))
    except (ValidationError, OAuthError):
        return None
    if jws.header.get("alg") not in key.algorithms or not jws.verify(key.key, jws.header["alg"]):
        return None
    credentials = WorkloadCredential.objects.filter(kind=CredentialKind.FEDERATED, federated_issuer=issuer)
    matching = [
        c for c in credentials.filter(Q(subject=sub) | Q(subject__endswith=WILDCARD)).order_by("-enabled", "pk")
        if subject_matches(c.subject, sub)
    ]
    return PlatformToken(issuer, matching[0], jws.claims, leaked_key(jws)) if matching else None


def _authenticate_svid(
    jws: CompactJWS, post, audiences, address: str, *, sole_audience: str | None = None,
) -> AuthenticatedClient:
    """A JWT-SVID of a registered trust domain, for the identity its SPIFFE ID is registered to.
    Its iss is not read (the trust domain's bundle vouches for it, keyed by the SPIFFE ID's
    trust domain, never found from iss); without a jti the SVID itself is single-use."""
    spiffe_id = jws.claims["sub"]
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
    if domain.distrusted_at:  # its credentials were disabled in the same transaction: never reached
        raise _fail("Unknown client or key.")
    try:
        bundle = _keys.get(("svid", domain.pk, domain.updated_at), lambda: parse_jwks(domain.jwks))
    except ValidationError:  # a bundle stored before the portal checked what it checks now
        raise _fail("Unknown client or key.") from None
    try:
        verified = _verify(
            jws, _bundle_key(jws, bundle), audiences=audiences, issuer=None, subject=spiffe_id, sole_audience=sole_audience,
            alg_remedy='the trust domain\'s bundle must say "alg": "{alg}" for it',
        )
        replay_key, replay_expires = _single_use(client_id, verified, jws)  # SPIRE may leave jti out
    except OAuthError as error:
        raise _refused(error, credential.pk) from None
    return AuthenticatedClient(
        client_id, credential.identity_id, credential.pk, replay_key, replay_expires, address, CredentialKind.SPIFFE
    )


def _authenticate_federated(jws: CompactJWS, post, audiences, address: str) -> AuthenticatedClient:
    """A workload token of a registered OIDC issuer, for the identity whose federated
    credential names its subject. Its audience is the one the issuer was registered with (a
    GitHub Actions or Kubernetes token names the audience it was asked for), or else the
    portal's, as for a client assertion. An audience other than the portal's own is safe for
    the reasons tokens/federation.py gives (_audience), which refuses the issuer's own URL."""
    claims = jws.claims
    issuer = FederatedIssuer.objects.filter(issuer=claims["iss"], distrusted_at__isnull=True).first()
    subject = claims.get("sub")
    if issuer is None or not isinstance(subject, str):
        raise _fail("Unknown client or key.")
    credentials = WorkloadCredential.objects.filter(kind=CredentialKind.FEDERATED, federated_issuer=issuer, enabled=True)
    if post.get("client_id"):
        try:
            credentials = credentials.filter(identity_id=uuid.UUID(post["client_id"]))
        except (ValueError, TypeError, AttributeError):
            raise _fail("Unknown client or key.") from None
    credentials = credentials.only("pk", "identity_id", "required_claims", "subject")
    # Its exact subject, else a subject ending in * that it starts with; subjects of different
    # identities never overlap (credential_add_federated), so either names one identity.
    credential = credentials.filter(subject=subject).first() or next(
        (c for c in credentials.filter(subject__endswith=WILDCARD).order_by("pk") if subject_matches(c.subject, subject)), None
    )
    if credential is None:
        raise _fail("Unknown client or key.")
    try:
        keys = _keys.get(("federated", issuer.pk, issuer.updated_at), lambda: parse_jwks(issuer.jwks))
    except ValidationError:
        raise _fail("Unknown client or key.") from None
    client_id = str(credential.identity_id)
    try:
        verified = _verify(
            jws, _bundle_key(jws, keys), audiences=[issuer.audience] if issuer.audience else audiences,
            issuer=issuer.issuer, subject=subject, max_age=issuer.max_age,
            alg_remedy='the issuer\'s JWKS must say "alg": "{alg}" for it',
        )
        for name, value in credential.required_claims.items():
            if verified.get(name) != value:
                raise _fail(f"The token's {name!r} claim is not the one this identity's credential requires.")
        platform_token_key = leaked_key(jws)
        if UsedAssertion.objects.filter(key=platform_token_key).exists():
            raise _fail("This token was reported leaked: the portal no longer accepts it. Ask the platform for a new one.")
        replay_key, replay_expires = ("", None) if issuer.reusable else _single_use(client_id, verified, jws)
    except OAuthError as error:
        raise _refused(error, credential.pk) from None
    return AuthenticatedClient(
        client_id, credential.identity_id, credential.pk, replay_key, replay_expires, address, CredentialKind.FEDERATED,
        platform_token_key,
    )


def _authenticate_jwt_spiffe(jws: CompactJWS, post, audiences, address: str) -> AuthenticatedClient:
    """draft-ietf-oauth-spiffe-client-auth, section 3.1: as a JWT-SVID sent as jwt-bearer, but
    its aud names the portal's issuer identifier as its sole value, as the draft (after
    draft-ietf-oauth-rfc7523bis) requires: no token endpoint, no second audience."""
    return _authenticate_svid(jws, post, audiences, address, sole_audience=nhi_setting("ISSUER"))


def authenticate_agent(post, *, audiences: list[str], address: str = "") -> AuthenticatedClient:
    """Check an agent's client assertion (or JWT-SVID). Does not consume its jti: see consume().

    A refusal of an assertion that named one of the portal's credentials is noted on it (the
    caller only hears invalid_client): its owners read why on the identity page.
    """
    assertion_type, assertion = _assertion(post, AGENT_ASSERTION_TYPES)
    jws = _parsed(assertion)
    subject = jws.claims.get("sub")
    issuer = jws.claims.get("iss")
    is_svid = isinstance(subject, str) and subject.startswith("spiffe://")
    if assertion_type == SPIFFE_ASSERTION_TYPE:
        if not is_svid:
            raise _fail(
                "A jwt-spiffe client assertion is a JWT-SVID of a registered trust domain, its sub a SPIFFE ID; "
                f"send other assertions as {ASSERTION_TYPE}."
            )
        authenticate = _authenticate_jwt_spiffe
    elif is_svid:
        authenticate = _authenticate_svid
    # An agent's own assertion is issued by its client_id, which is never a URL.
    elif isinstance(issuer, str) and issuer.startswith(("https://", "http://")):
        authenticate = _authenticate_federated
    else:
        authenticate = _authenticate_jwk
    try:
        return authenticate(jws, post, audiences, address)
    except OAuthError as error:
        if getattr(error, "credential_id", None):
            _note_refusal(error.credential_id, getattr(error, "reason", error.description))
        raise


def authenticate_service(post, *, audiences: list[str]) -> AuthenticatedService:
    """A resource server calling introspection: private_key_jwt with client_id = its audience.

    Unlike an agent's, a service's assertion may be sent again until it expires (at most five
    minutes): introspection then stays a read, with no jti row to write per call. Replaying a
    captured one would only tell its holder about tokens for that service's own audience.
    """
    _, assertion = _assertion(post)
    jws = _parsed(assertion)
    client_id = post.get("client_id") or jws.claims.get("iss")
    if not isinstance(client_id, str):
        raise _fail("Unknown client or key.")
    service = hot_path.active_service(client_id, introspecting=True)
    if service is None:
        raise _fail("Unknown client or key.")
    verified_key = (assertion, service.pk, service.updated_at)
    exp = _service_assertions.get(verified_key)
    if exp is None:
        key = _keys.get(
            ("service", service.pk, service.updated_at),
            lambda: parse_public_jwk(Service.objects.values_list("introspection_jwk", flat=True).get(pk=service.pk)),
        )
        exp = _verify(jws, key, audiences=audiences, issuer=client_id, subject=client_id)["exp"]
        if len(_service_assertions) >= 10_000:
            _service_assertions.clear()
        _service_assertions[verified_key] = exp
    elif exp <= time.time() - LEEWAY:
        raise _fail(CLAIM_PROBLEMS["expired"])
    return AuthenticatedService(service)


def confirm(client: AuthenticatedClient) -> None:
    """Inside the caller's transaction: the credential is still enabled, and the jti is spent.

    For endpoints other than the token endpoint, whose identity lock checks the credential
    itself (hot_path.lock_identity).
    """
    if not WorkloadCredential.objects.filter(pk=client.credential_id, identity_id=client.identity_id, enabled=True).exists():
        raise _fail("Unknown client or key.")
    consume(client)


def consume(client: AuthenticatedClient, *, first_write: bool = False) -> None:
    """Accept the assertion's jti once. Call inside the request's transaction. A token its issuer
    lets agents present again has no replay key: there is nothing to accept.

    first_write: nothing was written yet and a replay ends the transaction, so no savepoint
    is needed (two statements fewer on the issuance path).
    """
    if not client.replay_key:
        return
    try:
        if first_write:
            prepared_sql.insert(UsedAssertion, key=client.replay_key, expires_at=client.replay_expires_at)
        else:
            with transaction.atomic():
                prepared_sql.insert(UsedAssertion, key=client.replay_key, expires_at=client.replay_expires_at)
    except IntegrityError:
        raise _fail("This client assertion was already used (jti replay).") from None
