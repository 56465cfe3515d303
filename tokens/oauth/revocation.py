"""Token revocation (RFC 7009) and ending a task: the agent's own ways to give access back."""

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from nhiportal.audit.services import agent_actor

from ..access_tokens import InvalidAccessToken, verify_access_token
from ..models import IssuedToken, Task
from ..revocation import task_end, token_revoke
from .client_auth import authenticate_agent, confirm
from .endpoint import form, post_only
from .errors import INVALID_REQUEST, OAuthError, error_response, no_store
from .metadata import assertion_audiences
from .params import task_id_param, unique_param


def _authenticated(post, endpoint):
    client = authenticate_agent(post, audiences=assertion_audiences(endpoint))
    with transaction.atomic():
        confirm(client)
    return client


@csrf_exempt
@post_only
@sensitive_post_parameters("client_assertion", "token")
def revoke(request):
    """Revoke one of the client's tokens. Unknown, expired or foreign tokens: 200 all the same."""
    try:
        post = form(request)
        client = _authenticated(post, "oauth:revoke")
        token = unique_param(post, "token")
        if not token:
            raise OAuthError(INVALID_REQUEST, "token is required.")
    except OAuthError as error:
        return error_response(error)
    try:
        jti = verify_access_token(token, verify_exp=False)["jti"]
    except InvalidAccessToken:
        jti = None
    # A token of another client is left alone without saying so: the answer must not tell
    # a caller whether some token it found is valid.
    row = IssuedToken.objects.filter(jti=jti, identity_id=client.identity_id).first() if jti else None
    if row is not None:
        token_revoke(token=row, actor=agent_actor(client.client_id), reason="Revoked by the agent (RFC 7009).")
    # RFC 7009 section 2.2: the body is empty, so no type is claimed for it (Django's default
    # would say text/html).
    response = HttpResponse(status=200)
    del response["Content-Type"]
    return no_store(response)


@csrf_exempt
@post_only
@sensitive_post_parameters("client_assertion")
def end_task(request):
    """The agent ends its task: every token of the task and its sub-tasks is revoked."""
    try:
        post = form(request)
        client = _authenticated(post, "oauth:task-end")
        task_id = task_id_param(post)
        task = Task.objects.filter(pk=task_id, identity_id=client.identity_id).first() if task_id else None
        if task is None:
            raise OAuthError(INVALID_REQUEST, "task_id must name one of this client's tasks.")
        reason = (unique_param(post, "reason") or "Ended by the agent.")[:500]
    except OAuthError as error:
        return error_response(error)
    revoked = task_end(task=task, actor=agent_actor(client.client_id), reason=reason)
    task.refresh_from_db(fields=["ended_at"])
    return no_store(JsonResponse({"task_id": str(task.pk), "ended_at": task.ended_at.isoformat(), "tokens_revoked": revoked}))
