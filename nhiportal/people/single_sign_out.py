"""Single sign-out with the identity provider, both ways.

Signing out of the portal after a single sign-on sends the browser on to the provider's
end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0), so the provider's session ends
too. The other way, the provider posts a logout token when the person signs out there or is
signed out by an administrator (OpenID Connect Back-Channel Logout 1.0), and the portal ends
their sessions. Authlib, over joserfc, verifies the token's signature against the provider's
published keys and its claims; this module says which claims a logout token must have.
"""

import hashlib
import logging
import time
from datetime import datetime, timedelta, timezone as dt_timezone

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.claims import JWTClaims
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from nhiportal.audit.services import audit_record, system_actor
from tokens.models import UsedAssertion

from .ending_sessions import end_sessions, open_sessions_of
from .models import PortalSession, SingleSignOnLink
from .single_sign_on import check_provider_issuer, provider

logger = logging.getLogger(__name__)

# Set in a session signed in through the provider: its sign-out goes on to the provider.
SIGNED_IN_THROUGH_SSO = "signed_in_through_sso"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A logout token is sent the moment the provider's session ends: one issued longer ago than
# this is refused, so its jti need only be remembered this long.
MAX_AGE_SECONDS = 300
LEEWAY_SECONDS = 60
MAX_TOKEN_CHARS = 16384


class LogoutRefused(Exception):
    """The logout token is not one to act on; the message says why, to the provider."""


def provider_sign_out_url(post_logout_redirect_uri: str) -> str | None:
    """Where the browser goes to end the provider's session too, then comes back to
    post_logout_redirect_uri; None when the provider publishes no end_session_endpoint, or
    cannot be reached (the portal's session is over either way)."""
    client = provider()
    try:
        check_provider_issuer(client)
        endpoint = client.load_server_metadata().get("end_session_endpoint")
    except Exception as exc:  # the provider is down, or answers with something that is not its metadata
        logger.warning("single sign-out: could not read %s's metadata: %s: %s", settings.SSO["ISSUER"], type(exc).__name__, exc)
        return None
    if not endpoint:
        return None
    # client_id rather than id_token_hint: the ID token is not kept after the sign-in just for this.
    return add_params_to_uri(endpoint, [("client_id", client.client_id), ("post_logout_redirect_uri", post_logout_redirect_uri)])


def _issued_recently(claims, iat) -> bool:
    return time.time() - iat <= MAX_AGE_SECONDS + LEEWAY_SECONDS


def _announces_logout(claims, events) -> bool:
    return isinstance(events, dict) and isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict)


# A logout token naming a key id the portal has not seen makes it fetch the provider's keys
# again, but at most this often per provider: anyone can post such tokens, and each must not
# become a request to the provider.
MIN_REFETCH_SECONDS = 30
_refetched_at: dict[str, float] = {}


def _keys(client, *, refresh: bool) -> KeySet:
    if refresh:
        now, issuer = time.monotonic(), settings.SSO["ISSUER"]
        if now - _refetched_at.get(issuer, float("-inf")) < MIN_REFETCH_SECONDS:
            raise LogoutRefused("The logout token is signed with a key the provider does not publish.")
        _refetched_at[issuer] = now
    try:
        return KeySet.import_key_set(client.fetch_jwk_set(force=refresh))
    except Exception as exc:  # the provider is down, or its keys are not a key set
        logger.warning("single sign-out: could not fetch %s's keys: %s: %s", settings.SSO["ISSUER"], type(exc).__name__, exc)
        raise LogoutRefused("The provider's signing keys could not be fetched.") from None


def logout_token_claims(logout_token: str) -> dict:
    """The claims of a logout token (Back-Channel Logout 1.0, section 2.6): signed with one of
    the provider's published keys, issued by the configured provider to this client, recently,
    for a back-channel logout, naming a subject or a session, and not an ID token (no nonce)."""
    if not logout_token or len(logout_token) > MAX_TOKEN_CHARS:
        raise LogoutRefused("Send one logout token in the logout_token form field.")
    client = provider()
    try:
        check_provider_issuer(client)
        metadata = client.load_server_metadata()
    except Exception as exc:  # as in provider_sign_out_url
        logger.warning("single sign-out: could not read %s's metadata: %s: %s", settings.SSO["ISSUER"], type(exc).__name__, exc)
        raise LogoutRefused("The provider's metadata could not be read.") from None
    # Signed as the provider signs ID tokens; never unsigned, whatever the metadata lists. Header
    # parameters joserfc does not know are no reason to refuse, as for Authlib's ID tokens.
    algorithms = [alg for alg in metadata.get("id_token_signing_alg_values_supported") or ["RS256"] if alg != "none"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            token = jwt.decode(logout_token, _keys(client, refresh=False), registry=registry)
        except InvalidKeyIdError:  # a key the provider published since its keys were fetched
            token = jwt.decode(logout_token, _keys(client, refresh=True), registry=registry)
        claims = JWTClaims(token.claims, token.header, {
            # As the provider writes it; check_provider_issuer made sure it is the configured one.
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": client.client_id},
            "iat": {"essential": True, "validate": _issued_recently},
            "jti": {"essential": True},
            "events": {"essential": True, "validate": _announces_logout},
        })
        claims.validate(leeway=LEEWAY_SECONDS)
    except JoseError as exc:
        raise LogoutRefused(f"The logout token does not verify: {exc.description or exc.error}.") from None
    if "nonce" in claims:
        raise LogoutRefused("A logout token carries no nonce: this is an ID token.")
    if not (claims.get("sub") or claims.get("sid")):
        raise LogoutRefused("The logout token names neither a subject (sub) nor a session (sid).")
    if "sid" in claims and not isinstance(claims["sid"], str):  # joserfc checks sub, not sid
        raise LogoutRefused("The logout token's sid must be a string.")
    return dict(claims)


def _accept_once(issuer: str, claims: dict) -> None:
    """Each logout token is acted on once, as each client assertion is (UsedAssertion's
    unique insert, pruned with them), across workers and hosts."""
    key = hashlib.sha256(f"backchannel-logout\x00{issuer}\x00{claims['jti']}".encode()).hexdigest()
    # After this, the token is refused for its age anyway.
    until = datetime.fromtimestamp(claims["iat"], tz=dt_timezone.utc) + timedelta(seconds=MAX_AGE_SECONDS + LEEWAY_SECONDS)
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(key=key, expires_at=until)
    except IntegrityError:
        raise LogoutRefused("This logout token was already used (jti replay).") from None


@transaction.atomic
def sso_sign_out(*, claims: dict) -> int:
    """End the sessions a verified logout token names; return how many ended (Back-Channel
    Logout 1.0, section 2.7). With a sid, the sessions signed in from that provider session;
    with a sub alone, all of that person's sessions, and also when the sid names none of theirs
    (they signed in before the portal kept sids, or their ID token carried none). One audit
    event per person signed out; a subject or session the portal does not know ends nothing.
    The API tokens made in those sessions stay (see ending_sessions.py): a logout token does not
    say whether the person signed out or was thrown out. What revokes them is the directory
    deactivating the person (SCIM), or a security admin ending their sessions here."""
    issuer = settings.SSO["ISSUER"]
    subject, sid = claims.get("sub"), claims.get("sid")
    _accept_once(issuer, claims)
    person = None
    if subject:
        link = SingleSignOnLink.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if link is None:
            return 0
        person = link.user
    sessions = None
    if sid:
        sessions = PortalSession.objects.filter(provider_session=sid, expire_date__gt=timezone.now())
        if person is not None:
            sessions = sessions.filter(user=person)
            if not sessions.exists():
                sessions = None
    by_sid = sessions is not None
    if sessions is None:
        sessions = open_sessions_of(person)
    ended = 0
    for someone in get_user_model().objects.filter(pk__in=sessions.values("user")):
        count = end_sessions(sessions.filter(user=someone))
        ended += count
        audit_record(
            actor=system_actor("sso"), action="person.sessions_ended", obj=someone, object_repr=someone.get_username(),
            after={"sessions_ended": count, "issuer": issuer, **({"subject": subject} if subject else {}),
                   **({"provider_session": sid} if by_sid else {})},
            reason=f"signed out at {settings.SSO['NAME']} (back-channel logout)",
        )
    return ended
