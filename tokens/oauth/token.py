"""The token endpoint: client_credentials and token exchange, form-encoded in, JSON out."""

import functools
import hashlib

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from inventory.networks import canonical
from nhiportal import prepared_sql, sqlite_wal
from nhiportal.conf import nhi_setting

from ..dpop import InvalidProof, NonceRequired, Nonces, check_proof
from ..issuance import ACCESS_TOKEN_TYPE, token_exchange, token_issue
from .client_auth import AuthenticatedClient, authenticate_agent, consume, note_disabled_key_use
from .endpoint import form, post_only
from .errors import INVALID_DPOP_PROOF, INVALID_REQUEST, SLOW_DOWN, UNSUPPORTED_GRANT_TYPE, USE_DPOP_NONCE, OAuthError, error_response, no_store
from .metadata import assertion_audiences, endpoint_url
from .params import authorization_details_param, destination_param, scopes_param, task_id_param, ttl_param, unique_param

CLIENT_CREDENTIALS = "client_credentials"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@functools.lru_cache(maxsize=2)
def _nonces(secret_key: str, lifetime: int) -> Nonces:
    # Derived from SECRET_KEY, which every worker and host shares, so any of them accepts a
    # nonce another handed out; the label keeps this key apart from Django's other uses of it.
    return Nonces(hashlib.sha256(b"nhi-portal:dpop-nonces:" + secret_key.encode()).digest(), lifetime)


def dpop_nonces() -> Nonces | None:
    """The token endpoint's DPoP nonces (RFC 9449 section 8), when NHI_DPOP_NONCE_SECONDS is set."""
    lifetime = nhi_setting("DPOP_NONCE_SECONDS")
    return _nonces(settings.SECRET_KEY, lifetime) if lifetime else None


def _dpop_key(request, nonces: Nonces | None) -> str | None:
    """The thumbprint of the key a DPoP proof header proves (RFC 9449), or None without one."""
    proof = request.META.get("HTTP_DPOP")
    if proof is None:
        return None
    if "," in proof:  # repeated headers arrive joined by commas; a JWT has none
        raise OAuthError(INVALID_DPOP_PROOF, "Send one DPoP proof.")
    urls = (endpoint_url("oauth:token"), request.build_absolute_uri())
    try:
        return check_proof(proof.strip(), method="POST", urls=urls, nonces=nonces).jkt
    except NonceRequired as error:
        raise OAuthError(USE_DPOP_NONCE, error.description, headers={"DPoP-Nonce": error.nonce}) from None
    except InvalidProof as error:
        raise OAuthError(INVALID_DPOP_PROOF, error.description) from None


def _exchange(post, client, jkt):
    if unique_param(post, "subject_token_type") != ACCESS_TOKEN_TYPE:
        raise OAuthError(INVALID_REQUEST, f"subject_token_type must be {ACCESS_TOKEN_TYPE}.")
    if unique_param(post, "requested_token_type") not in (None, ACCESS_TOKEN_TYPE):
        raise OAuthError(INVALID_REQUEST, f"Only {ACCESS_TOKEN_TYPE} can be requested.")
    actor_token = unique_param(post, "actor_token")
    if actor_token:
        raise OAuthError(INVALID_REQUEST, "actor_token is not supported: the authenticated client is the actor.")
    if unique_param(post, "actor_token_type"):
        # RFC 8693 section 2.1: present when actor_token is, and never otherwise.
        raise OAuthError(INVALID_REQUEST, "actor_token_type goes only with an actor_token.")
    subject_token = unique_param(post, "subject_token")
    if not subject_token:
        raise OAuthError(INVALID_REQUEST, "subject_token is required.")
    return token_exchange(
        client=client,
        subject_token=subject_token,
        audience=destination_param(post),
        scopes=scopes_param(post),
        context=authorization_details_param(post),
        requested_ttl=ttl_param(post),
        jkt=jkt,
    ).response(exchanged=True)


@csrf_exempt
@post_only
@sensitive_post_parameters("client_assertion", "subject_token", "actor_token")
def token(request):
    # A token costs a dozen statements: look the connection up once for all of them.
    with prepared_sql.pinned():
        return _token(request)


def _token(request):
    nonces = dpop_nonces()
    response = _answer(request, nonces)
    if nonces is not None and "DPoP-Nonce" not in response:
        # Each answer carries the nonce of the moment, so an agent keeps a fresh one (section 8.2).
        response["DPoP-Nonce"] = nonces.current()
    return response


def _spend(client: AuthenticatedClient) -> None:
    """Spend the assertion of a request refused after it authenticated (a bad parameter, an
    unusable subject_token, a refusal by policy): an assertion is accepted once, whatever its
    request came to, so a copy of it left in a proxy's or client's log gets nothing."""
    with sqlite_wal.writer_queue.held(prepared_sql.db()), transaction.atomic():
        try:
            consume(client)
        except OAuthError:
            pass  # spent already: a refusal decided under the identity lock commits its jti


def _answer(request, nonces):
    client = None
    try:
        post = form(request)
        grant_type = unique_param(post, "grant_type")
        if not grant_type:
            # RFC 6749 section 5.2: a missing parameter is invalid_request. A JSON or text body
            # gets here too: Django reads parameters from form bodies only.
            raise OAuthError(INVALID_REQUEST, "grant_type is required, with the parameters form-encoded (application/x-www-form-urlencoded).")
        if grant_type not in (CLIENT_CREDENTIALS, TOKEN_EXCHANGE):
            raise OAuthError(UNSUPPORTED_GRANT_TYPE, "grant_type must be client_credentials or token-exchange.")
        jkt = _dpop_key(request, nonces)
        client = authenticate_agent(post, audiences=assertion_audiences("oauth:token"), address=canonical(request.META.get("REMOTE_ADDR", "")))
        if grant_type == TOKEN_EXCHANGE:
            body = _exchange(post, client, jkt)
        else:
            body = token_issue(
                client=client,
                audience=destination_param(post),
                scopes=scopes_param(post),
                context=authorization_details_param(post),
                task_id=task_id_param(post),
                requested_ttl=ttl_param(post),
                jkt=jkt,
            ).response()
    except OAuthError as error:
        # A rate-limit refusal writes nothing, by design (it sheds load): the agent may send
        # the same request again after Retry-After.
        if client is not None and error.error != SLOW_DOWN:
            _spend(client)
        if getattr(error, "refused_credential_id", None):
            note_disabled_key_use(error.refused_credential_id, client.address)
        return error_response(error)
    return no_store(JsonResponse(body))
