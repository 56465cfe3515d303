"""Issuing access tokens: client_credentials (a task opens or is joined) and token exchange (RFC 8693).

One transaction per request: lock the identity row, consume the assertion's jti, check the
grants, ask policy, write the decision, the task, the ledger row and one audit event.
Refusals made after the client authenticated commit too (the jti stays spent and the owner
sees the refusal on the identity page); then the caller gets its RFC 6749 error. The token
is signed after the commit, outside the write lock. A client's next token is decided before
the lock, on its last token's facts, and written only if they still hold under it (_run).
"""

import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from inventory import networks
from inventory.models import Status
from nhiportal.audit.services import PreparedEvent, agent_actor, audit_append, audit_prepare, audit_record
from nhiportal import prepared_sql, sqlite_wal
from nhiportal.conf import nhi_setting
from tokens.policy import engine

from . import approvals, delegations, hot_path, rate_limit, status_list
from .access_tokens import InvalidAccessToken, sign_access_token, verify_access_token
from .keys import active_signer, signer_cache_clear
from .models import IssuedToken, ServiceScope, Task, TokenPace
from .source_networks import network_is_new, source_note
from .oauth.client_auth import AuthenticatedClient, consume
from .oauth.errors import (
    ACCESS_DENIED,
    AUTHORIZATION_PENDING,
    INVALID_AUTHORIZATION_DETAILS,
    INVALID_CLIENT,
    INVALID_DPOP_PROOF,
    INVALID_REQUEST,
    INVALID_SCOPE,
    INVALID_TARGET,
    SLOW_DOWN,
    UNAUTHORIZED_CLIENT,
    OAuthError,
)
from .oauth.params import TaskContext
from .public_keys import KeyCache
from .revocation import lock_identity

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
_service_scopes = KeyCache(max_entries=1000)


@dataclass(frozen=True)
class IssuedAccessToken:
    access_token: str
    expires_in: int
    scopes: tuple[str, ...]
    task_id: str
    authorization_details: list
    token_type: str = "Bearer"  # "DPoP" when bound to the agent's proof key (RFC 9449)

    def response(self, *, exchanged: bool = False) -> dict:
        body = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": " ".join(self.scopes),
            "task_id": self.task_id,
            "authorization_details": self.authorization_details,
        }
        if exchanged:
            body["issued_token_type"] = ACCESS_TOKEN_TYPE
        return body


class _Refusal(Exception):
    """A refusal to record and commit before answering the caller.

    `evaluated`: the decision row of a policy evaluation that allowed the request before the
    portal refused it (no time left), recorded first: every evaluation is in the log."""

    def __init__(self, error: OAuthError, rule: str, service=None, evaluated=None, detail: str | None = None):
        self.error, self.rule, self.service, self.evaluated = error, rule, service, evaluated
        # What the owner reads in the decision log, when it says more than the caller is told.
        self.detail = detail or error.description


class _PolicyDenial(_Refusal):
    """Policy said no; `request` is what it was asked, `policy_ids` who said no."""

    def __init__(self, request: engine.PolicyRequest, service, evaluation: engine.Evaluation):
        # The deciding policies are shown to the owner in the portal, never to the caller.
        super().__init__(OAuthError(ACCESS_DENIED, "The portal's policy does not allow this request."), "", service)
        self.request, self.evaluation = request, evaluation
        self.policy_ids = tuple(evaluation.verdict.policy_ids)
        self._recorded = False

    def record(self) -> None:
        """Write the decision row (once), inside the request's transaction."""
        if not self._recorded:
            engine.decision_row(self.evaluation, self.request).run()
            self._recorded = True


@dataclass(frozen=True)
class _Writes:
    """What one token writes, prepared: its policy decision, its task (when it opens one),
    its ledger row and its audit event; and the claims it will carry."""

    policy: object  # the engine.ActivePolicy that decided
    rows: tuple  # prepared_sql.Insert, in order, before the ledger row
    token_row: prepared_sql.Insert
    event: PreparedEvent
    claims: dict
    scopes: list
    task_id: uuid.UUID
    details: list

    def run(self):
        connection = prepared_sql.db()
        for row in self.rows:
            row.run(connection)
        # The ledger row's id is the token's place in the status lists (tokens/status_list.py).
        claims = {**self.claims, "status": status_list.reference(self.token_row.run(connection, returning=True))}
        audit_append(self.event)
        return claims, self.scopes, self.task_id, self.details


PLAN_MAX_AGE = timedelta(milliseconds=250)


def plan_timely(planned_at: datetime, exp: int, now: datetime) -> bool:
    """Whether a token planned at `planned_at` may still be issued as planned at `now`: planned
    moments ago, in the same hour of the same weekday (policies may read both), and with at
    least a second left. Otherwise it is decided anew, at `now`."""
    return (
        timedelta(0) <= now - planned_at <= PLAN_MAX_AGE
        and (now.hour, now.weekday()) == (planned_at.hour, planned_at.weekday())
        and exp - now.timestamp() >= 1
    )


@dataclass(frozen=True)
class _Ahead:
    """A token planned before queuing for the write lock, on the facts the client's previous
    token was decided on in this process. Used only if those facts still hold under the lock."""

    key: tuple  # the client's entry in _last_facts
    identity: hot_path.IdentityFacts
    service: hot_path.ServiceFacts
    grants: list
    now: datetime
    writes: _Writes

    def holds(self, identity: hot_path.IdentityFacts, audience: str, now: datetime) -> bool:
        """Read under the lock at `now`: are the plan's facts, its policy and its time still good?"""
        if not plan_timely(self.now, self.writes.claims["exp"], now):
            return False
        if identity != self.identity or engine.active_policy() != self.writes.policy:
            return False
        service = hot_path.active_service(audience)
        return service == self.service and hot_path.live_grants(identity.pk, service.pk, now) == self.grants


# The facts each client's last token was decided on, in this process, by (identity,
# credential, audience): its next request plans on them before it queues (see _run).
_last_facts: dict = {}
_LAST_FACTS_MAX = 10_000


def _facts_key(client: AuthenticatedClient, audience) -> tuple:
    return (client.identity_id, client.credential_id, audience)


def _remember_facts(client: AuthenticatedClient, audience: str, facts: tuple) -> None:
    if len(_last_facts) >= _LAST_FACTS_MAX:
        _last_facts.clear()
    _last_facts[_facts_key(client, audience)] = facts


def _lock_identity(client: AuthenticatedClient, signing_kid: str) -> tuple[hot_path.IdentityFacts, bool]:
    """The identity row, locked so that offboarding, suspension and revocations wait for us (or
    we for them); and whether the key this process signs with still signs."""
    identity, signer_active = hot_path.lock_identity(client.identity_id, client.credential_id, signing_kid)
    if identity is None:  # gone, or the credential that signed the assertion was disabled meanwhile
        error = OAuthError(INVALID_CLIENT, "Unknown client or key.")
        # Its key signed the request: if it is disabled, its holder is still trying (noted by the
        # endpoint once this transaction has rolled back).
        error.refused_credential_id = client.credential_id
        raise error
    return identity, signer_active


def _scopes_of(service) -> dict[str, bool]:
    """name -> consequential, cached per service version."""
    return _service_scopes.get(
        (service.pk, service.updated_at),
        lambda: dict(ServiceScope.objects.filter(service_id=service.pk).values_list("name", "consequential")),
    )


def _service(audience: str | None) -> hot_path.ServiceFacts:
    if not audience:
        # RFC 8707 section 2 lets a server refuse a request without one as invalid_target; a token
        # here is always for one service, and guessing it from the scopes could pick the wrong one.
        raise _Refusal(OAuthError(INVALID_TARGET, "Name the destination with resource (RFC 8707) or audience."), "portal:no-destination")
    service = hot_path.active_service(audience)
    if service is None:
        raise _Refusal(OAuthError(INVALID_TARGET, "No registered service has this audience."), "portal:unknown-service")
    return service


def _grant_cover(scopes: list[str], grants) -> tuple[int, datetime]:
    """The grant bounding the token: for each scope the longest-lasting grant covering it; the earliest of those."""
    bound = None
    for scope in scopes:
        covering = max((g for g in grants if scope in g[1]), key=lambda g: g[2])
        if bound is None or covering[2] < bound[2]:
            bound = covering
    return bound[0], bound[2]


def _check_binding(service, jkt: str | None) -> None:
    if service.requires_dpop and not jkt:
        raise _Refusal(
            OAuthError(INVALID_DPOP_PROOF, "This service takes only DPoP-bound tokens: send a DPoP proof (RFC 9449) with the request."),
            "portal:dpop-required", service,
        )


def _check_scopes(requested: list[str], offered: dict, granted: set[str], service) -> None:
    if not requested:
        raise _Refusal(OAuthError(INVALID_SCOPE, "Name the scopes the task needs."), "portal:no-scope", service)
    if not set(requested) <= set(offered):
        raise _Refusal(OAuthError(INVALID_SCOPE, "The service does not offer some requested scopes."), "portal:unknown-scope", service)
    if not granted:
        raise _Refusal(OAuthError(INVALID_SCOPE, "The identity has no live grant on this service."), "portal:no-live-grant", service)
    if not set(requested) <= granted:
        raise _Refusal(OAuthError(INVALID_SCOPE, "Some requested scopes are beyond the identity's grants."), "portal:scope-beyond-grant", service)


def _ttl(now: datetime, *bounds) -> int:
    """Seconds until the earliest bound (datetimes or second counts); the portal ceiling always applies."""
    ttl = nhi_setting("TOKEN_TTL_CEILING")
    for bound in bounds:
        if bound is None:
            continue
        seconds = int((bound - now).total_seconds()) if isinstance(bound, datetime) else int(bound)
        ttl = min(ttl, seconds)
    return ttl


def _decide(
    action, identity, service, scopes, granted, context: TaskContext | None, ttl, task, offered, now, sender_constrained, client,
    approval_applies: bool = True,
):
    """Ask policy; return the token's lifetime, the decision row to write and the policy that
    decided. A denial raises _PolicyDenial, which records itself when the refusal commits.
    A person's approval of the task counts only where approval_applies (its own service)."""
    human_approval = approval_applies and bool(
        task and task.approved_by_id and task.approval_expires_at and task.approval_expires_at > now
    )
    request = engine.PolicyRequest(
        action=action,
        identity=identity,
        service=service,
        scopes=tuple(scopes),
        granted_scopes=tuple(sorted(granted)),
        intent=context.intent if context else (task.intent if task else ""),
        sensitivity=context.sensitivity if context else (task.sensitivity if task else None),
        requested_ttl=ttl,
        human_approval=human_approval,
        consequential=any(offered[s] for s in scopes),
        sender_constrained=sender_constrained,
        source_address=client.address,
        credential=client.credential_kind,
        new_network=network_is_new(identity.pk, client.address),
        at=now,
    )
    evaluation = engine.policy_evaluate(request)
    if evaluation.enforced != engine.ALLOW:
        raise _PolicyDenial(request, service, evaluation)
    bounds = [evaluation.verdict.ttl_bound]
    if human_approval:
        bounds.append(task.approval_expires_at)
    return min(ttl, _ttl(now, *bounds)), engine.decision_row(evaluation, request), evaluation.policy


def _record_refusal(action, identity, refusal: _Refusal, client, audience, scopes) -> None:
    if isinstance(refusal, _PolicyDenial):
        refusal.record()
        return
    if refusal.evaluated is not None:
        refusal.evaluated.run()
    if not refusal.rule:  # recorded where it was raised, or not worth recording
        return
    engine.decision_record_refusal(
        action=action,
        identity=identity,
        service=refusal.service,
        rule=refusal.rule,
        detail=refusal.detail,
        summary={"client_id": client.client_id, "audience": audience or "", "scopes": list(scopes), "error": refusal.error.error},
    )


def _token_rows(*, identity, task_id, service, scopes, grant_id, client, signer, ttl, now, details, parent=None, act=None, subject=None, jkt=None):
    """The ledger row and its audit event, prepared; and the claims to sign. `jkt`: the
    thumbprint of the DPoP key the token is bound to (cnf, RFC 9449), if any."""
    jti = secrets.token_urlsafe(24)
    issued = int(now.timestamp())
    expires_at = datetime.fromtimestamp(issued + ttl, tz=now.tzinfo)
    row = prepared_sql.Insert(
        IssuedToken,
        dict(
            jti=jti,
            identity=identity.pk,
            task=task_id,
            parent=parent.pk if parent else None,
            grant=grant_id,
            credential=client.credential_id,
            audience=service.audience,
            scopes=list(scopes),
            signing_kid=signer.kid,
            issued_at=now,
            expires_at=expires_at,
            revoked_at=None,
            revoked_by_label="",
            revoke_reason="",
            cnf_jkt=jkt or "",
            platform_token_key=client.platform_token_key,
        ),
    )
    event = audit_prepare(
        actor=agent_actor(client.client_id),
        action="token.exchange" if parent else "token.issue",
        object_type="tokens.issuedtoken",
        object_id=jti,
        object_repr=f"token {jti[:8]}…",
        identity=identity.pk,
        after={"task": str(task_id), "aud": service.audience, "scope": " ".join(scopes), "exp": expires_at},
    )
    claims = {
        "iss": nhi_setting("ISSUER"),
        "sub": subject or client.client_id,
        "aud": service.audience,
        "client_id": client.client_id,
        "scope": " ".join(scopes),
        "iat": issued,
        "exp": issued + ttl,
        "jti": jti,
        "task_id": str(task_id),
        "authorization_details": details,
    }
    if act is not None:
        claims["act"] = act
    if jkt:
        claims["cnf"] = {"jkt": jkt}
    return row, event, claims


def _task_row(*, identity, service, scopes, now, intent, sensitivity, details, parent_id=None, requires_approval=False):
    """A new task's id and its row, prepared."""
    task_id = uuid.uuid4()
    row = prepared_sql.Insert(
        Task,
        dict(
            id=task_id,
            identity=identity.pk,
            service=service.pk,
            parent=parent_id,
            intent=intent,
            scopes=list(scopes),
            sensitivity=sensitivity,
            authorization_details=details,
            requires_approval=requires_approval,
            approved_by=None,
            approved_at=None,
            approval_expires_at=None,
            approval_rejected=False,
            opened_at=now,
            ended_at=None,
            ended_by_label="",
            end_reason="",
        ),
    )
    return task_id, row


def _joined_task(task_id, identity, service) -> Task:
    """The task a request joins by task_id: open, and approved if it waits for a person."""
    task = Task.objects.filter(pk=task_id, identity_id=identity.pk, service_id=service.pk).first()
    state = task.approval_state if task else ""
    if state == "rejected":
        raise _Refusal(OAuthError(ACCESS_DENIED, "A person refused to approve this task."), "portal:approval-refused", service)
    if task is None or task.ended_at is not None:
        raise _Refusal(OAuthError(INVALID_REQUEST, "No open task with this task_id for this client and destination."), "portal:unknown-task", service)
    if state == "lapsed":
        raise _Refusal(OAuthError(ACCESS_DENIED, "No one approved this task in time; describe the task anew."), "portal:approval-lapsed", service)
    if state == approvals.PENDING:
        # Not recorded: the agent polls, and the decision log would fill with "still waiting".
        raise _Refusal(
            OAuthError(AUTHORIZATION_PENDING, "A person has yet to approve this task; ask again later.", task_id=str(task.pk)),
            "", service,
        )
    return task


def _ask_for_approval(client, identity, service, scopes, now, context, denial: _PolicyDenial) -> None:
    """Only a person's approval was missing: if policy lets the agent ask, open the task as
    pending and tell the agent to ask again with its id (the refusal commits the task)."""
    denial.record()
    if not approvals.approval_request_decide(denial.request):
        raise denial
    task_id, row = _task_row(
        identity=identity, service=service, scopes=scopes, now=now, intent=context.intent,
        sensitivity=context.sensitivity, details=context.details, requires_approval=True,
    )
    row.run()
    approvals.approval_requested(
        client_id=client.client_id, identity_id=identity.pk, task_id=task_id, service=service, scopes=scopes,
        policy_ids=denial.policy_ids,
    )
    raise _Refusal(
        OAuthError(
            AUTHORIZATION_PENDING,
            "This task needs a person's approval; ask again with its task_id once a reviewer has approved it.",
            task_id=str(task_id),
        ),
        "",
        service,
    )


def _slow_down(seconds: int) -> OAuthError:
    return OAuthError(
        SLOW_DOWN, f"This identity asks for tokens faster than its rate limit allows: retry after {seconds} s.",
        status=429, headers={"Retry-After": str(seconds)},
    )


def _pace(identity, client: AuthenticatedClient, now: datetime) -> tuple[int, float | None]:
    """The identity's limit (0: none) and when its next token is due after this one; a
    refusal when this one would pass the limit (recorded once a minute per process, with an
    identity.rate_limited event that webhooks push: a runaway agent is news)."""
    limit = rate_limit.limit_of(identity)
    if not limit:
        return 0, None
    moment = now.timestamp()
    pace = rate_limit.admit(limit, identity.token_pace, moment)
    if pace is None:
        wait = rate_limit.wait(limit, identity.token_pace, moment)
        recorded = rate_limit.slowed.refuse(identity.pk, wait)
        if recorded:  # commits with the refusal's decision row
            TokenPace.objects.filter(identity_id=identity.pk).update(slowed_at=now)
            audit_record(
                actor=agent_actor(client.client_id), action="identity.rate_limited",
                object_type="inventory.aiidentity", object_id=str(identity.pk), object_repr=f"{identity.name} past {rate_limit.per_minute(limit)}",
                identity=identity.pk, after={"limit_per_minute": limit, "retry_after_seconds": rate_limit.whole_seconds(wait)},
            )
        raise _Refusal(
            _slow_down(rate_limit.whole_seconds(wait)), "portal:rate-limit" if recorded else "",
            detail=f"Asked for more than its {rate_limit.per_minute(limit)}; the next in {wait:.1f} s. "
            "Refusals in the minute after this one are not recorded.",
        )
    return limit, pace


def _run(action, client: AuthenticatedClient, audience, scopes, decide_and_write, ancestors=(), plan_ahead=None):
    """The shared transaction: lock, consume the jti, then decide and write (or record a refusal).

    `ancestors`: for an exchange, the identities that held the subject token or any token it
    came from (a delegation chain: _token_ancestors). Their rows are locked too, so that
    revoking any of those tokens, ending a task of theirs or offboarding one of them waits for
    us, or we for them, and its cascade then finds our token. Every row is locked in one order
    (by id), so agents acting for each other cannot deadlock.

    `plan_ahead(signer)`: an _Ahead or None. On SQLite every issuing worker waits for the one
    write lock, so the time a request holds it bounds the whole portal's issuance rate; the
    policy evaluation and the rows' JSON cost more than the writes themselves. So the token
    is planned before queuing, on the facts the client's last token was decided on, and
    under the lock its facts are read again: if they are the same, the plan is written as
    it is; if anything changed, it is thrown away and the token is decided anew, under the lock.

    An identity this process refused for its rate limit is refused again, until its next
    token is due, before anything is written or planned.
    """
    waiting = rate_limit.slowed.refused_for(client.identity_id)
    if waiting is not None:
        raise _slow_down(waiting)
    signer = active_signer()
    ahead = plan_ahead(signer) if plan_ahead is not None else None
    others = sorted({str(a) for a in ancestors} - {str(client.identity_id)})
    with sqlite_wal.writer_queue.held(prepared_sql.db()), transaction.atomic():
        for other in others:
            if other < str(client.identity_id):
                lock_identity(other)
        identity, signer_active = _lock_identity(client, signer.kid)
        for other in others:
            if other > str(client.identity_id):
                lock_identity(other)
        if not signer_active:
            # Another process retired the key this one signs with (a rotation, or a key reported
            # compromised, whose tokens must not outlive the report): sign with the active one.
            signer_cache_clear()
            signer, ahead = active_signer(), None
        consume(client, first_write=True)
        try:
            if identity.status != Status.ACTIVE:
                raise _Refusal(
                    OAuthError(UNAUTHORIZED_CLIENT, f"The identity is {identity.get_status_display().lower()}, not active."),
                    "portal:identity-not-active",
                )
            if not networks.allows(identity.allowed_networks, client.address):
                raise _Refusal(
                    OAuthError(UNAUTHORIZED_CLIENT, "Tokens for this identity are issued only to requests from its allowed networks."),
                    "portal:network",
                    detail=f"Asked from {client.address or 'an unknown address'}, outside its allowed networks.",
                )
            now = timezone.now()
            limit, pace = _pace(identity, client, now)
            if ahead is not None and ahead.holds(identity, audience, now):
                writes = ahead.writes
            else:
                if ahead is not None:  # the facts changed: plan on them again only once they are read anew
                    _last_facts.pop(ahead.key, None)
                writes = decide_and_write(identity, signer, now)
            claims, scopes, task_id, details = writes.run()
            if limit:
                hot_path.pace_save(identity.pk, pace)
            source_note(identity_id=identity.pk, name=identity.name, client_id=client.client_id, address=client.address, now=now)
        except _Refusal as refusal:
            _record_refusal(action, identity, refusal, client, audience, scopes)
            error = refusal.error
        else:
            error = None
    if error is not None:
        raise error
    return IssuedAccessToken(
        access_token=sign_access_token(claims, signer),
        expires_in=claims["exp"] - claims["iat"],
        scopes=tuple(scopes),
        task_id=str(task_id),
        authorization_details=details,
        token_type="DPoP" if "cnf" in claims else "Bearer",
    )


def token_issue(
    *,
    client: AuthenticatedClient,
    audience: str | None,
    scopes: list[str],
    context: TaskContext | None,
    task_id=None,
    requested_ttl: int | None = None,
    jkt: str | None = None,
) -> IssuedAccessToken:
    """client_credentials: a token for one task (opened now, or joined by task_id) on one service;
    bound to the DPoP key `jkt` when the request proved one."""

    def plan(identity, service, grants, signer, now) -> _Writes:
        """The token's writes, decided on these facts (read under the lock, or planned ahead)."""
        _check_binding(service, jkt)
        offered = _scopes_of(service)
        granted = {s for g in grants for s in g[1]}
        _check_scopes(scopes, offered, granted, service)
        task = None
        if task_id is not None:
            task = _joined_task(task_id, identity, service)
            if not set(scopes) <= set(task.scopes):
                raise _Refusal(OAuthError(INVALID_SCOPE, "A task's tokens stay within the scopes it opened with."), "portal:scope-beyond-task", service)
        elif context is None:
            raise _Refusal(
                OAuthError(INVALID_REQUEST, "Describe the task in authorization_details (type agent_task) or join one with task_id."),
                "portal:no-task-context", service,
            )
        grant_id, grant_end = _grant_cover(scopes, grants)
        ttl = _ttl(now, requested_ttl, grant_end)
        ttl, decision, policy = _decide(engine.ISSUE, identity, service, scopes, granted, context, ttl, task, offered, now, bool(jkt), client)
        if ttl < 1:
            raise _Refusal(
                OAuthError(INVALID_SCOPE, "The grant or approval ends too soon for a token."), "portal:no-time-left", service, decision,
            )
        details = context.details if context else task.authorization_details
        rows = [decision]
        if task is None:
            task_pk, task_row = _task_row(
                identity=identity, service=service, scopes=scopes, now=now,
                intent=context.intent, sensitivity=context.sensitivity, details=details,
            )
            rows.append(task_row)
        else:
            task_pk = task.pk
        token_row, event, claims = _token_rows(
            identity=identity, task_id=task_pk, service=service, scopes=scopes, grant_id=grant_id,
            client=client, signer=signer, ttl=ttl, now=now, details=details, jkt=jkt,
        )
        return _Writes(policy, tuple(rows), token_row, event, claims, scopes, task_pk, details)

    def decide_and_write(identity, signer, now) -> _Writes:
        service = _service(audience)
        grants = hot_path.live_grants(identity.pk, service.pk, now)
        try:
            writes = plan(identity, service, grants, signer, now)
        except _PolicyDenial as denial:
            if task_id is None and approvals.approval_would_allow(denial.request):
                _ask_for_approval(client, identity, service, scopes, now, context, denial)
            raise
        if task_id is None:
            _remember_facts(client, audience, (identity, service, grants))
        return writes

    def plan_ahead(signer) -> _Ahead | None:
        key = _facts_key(client, audience)
        facts = _last_facts.get(key)
        if facts is None or task_id is not None:  # a joined task's state is read under the lock
            return None
        identity, service, grants = facts
        now = timezone.now()
        try:
            return _Ahead(key, identity, service, grants, now, plan(identity, service, grants, signer, now))
        except (_Refusal, OAuthError):
            return None  # decided again under the lock, where a refusal is recorded

    return _run(engine.ISSUE, client, audience, scopes, decide_and_write, plan_ahead=plan_ahead)


def _subject(subject_token: str, client: AuthenticatedClient) -> tuple[dict, uuid.UUID | None]:
    """The subject token's claims, and the identity that holds it when that is not the client
    (which then acts for it, under a delegation: tokens/delegations.py)."""
    try:
        claims = verify_access_token(subject_token)
    except InvalidAccessToken:
        raise OAuthError(INVALID_REQUEST, "The subject_token is not a live access token of this portal.") from None
    if claims.get("client_id") == client.client_id:
        return claims, None
    try:
        holder = uuid.UUID(str(claims.get("client_id")))
    except ValueError:
        holder = None
    if holder is None or not delegations.delegation_live(principal_id=holder, delegate_id=client.identity_id):
        raise OAuthError(INVALID_REQUEST, "The subject_token was not issued to this client, and its holder has not let this client act for it.")
    return claims, holder


def _token_ancestors(claims: dict) -> set[uuid.UUID]:
    """The identities whose tokens this one came from: its holder, its subject (the principal
    of a delegation) and each actor of its act chain (act nests, one level a hand)."""
    named, level = [claims.get("client_id"), claims.get("sub")], claims.get("act")
    while isinstance(level, dict):
        named.append(level.get("sub"))
        level = level.get("act")
    found = set()
    for value in named:
        try:
            found.add(uuid.UUID(str(value)))
        except ValueError:
            continue  # not an identity's client_id: nothing of ours to lock
    return found


def token_exchange(
    *,
    client: AuthenticatedClient,
    subject_token: str,
    audience: str | None,
    scopes: list[str],
    context: TaskContext | None,
    requested_ttl: int | None = None,
    jkt: str | None = None,
) -> IssuedAccessToken:
    """RFC 8693: narrow a held token into a sub-task's token. Never broader, never longer.
    A subject token bound to a DPoP key is exchanged only with a proof made with that key.

    The token may be the client's own, or one held by an identity that lets the client act for
    it (a delegation): then `sub` stays the holder's subject and `act` names the client."""
    subject_claims, holder = _subject(subject_token, client)
    audience = audience or subject_claims["aud"]
    cnf = subject_claims.get("cnf")
    bound = cnf.get("jkt") if isinstance(cnf, dict) else None
    if bound and bound != jkt:
        # Whoever holds a copy of a bound token without its key gets nothing from it, here too.
        raise OAuthError(INVALID_REQUEST, "The subject_token is bound to a DPoP key: send a DPoP proof made with that key.")

    def decide_and_write(identity, signer, now):
        if holder is not None and not delegations.delegation_live(principal_id=holder, delegate_id=identity.pk):
            # Ended while we queued for the lock (delegation_revoke locks this client's row).
            raise _Refusal(OAuthError(INVALID_REQUEST, "The subject_token's holder no longer lets this client act for it."), "")
        parent = (
            IssuedToken.objects.select_related("task")
            .filter(jti=subject_claims["jti"], identity_id=holder or identity.pk, revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if parent is None or parent.task.ended_at is not None:
            raise _Refusal(OAuthError(INVALID_REQUEST, "The subject_token has been revoked, has expired, or its task has ended."), "")
        service = _service(audience)
        _check_binding(service, jkt)
        offered = _scopes_of(service)
        grants = hot_path.live_grants(identity.pk, service.pk, now)
        granted = {s for g in grants for s in g[1]}
        if not granted:
            raise _Refusal(OAuthError(INVALID_TARGET, "The identity has no live grant on this audience."), "portal:no-live-grant", service)
        wanted = scopes or sorted(set(parent.scopes) & granted)
        if not set(wanted) <= set(parent.scopes):
            raise _Refusal(OAuthError(INVALID_SCOPE, "An exchanged token cannot carry scopes the subject_token did not have."), "portal:exchange-broader", service)
        _check_scopes(wanted, offered, granted, service)
        parent_task = parent.task
        sub_task = context
        if sub_task and sub_task.sensitivity is None and parent_task.sensitivity is not None:
            # Saying nothing of the data keeps the task's bound: otherwise a sub-task that said
            # nothing would be the step to one that declares more than its task.
            sub_task = replace(context, sensitivity=parent_task.sensitivity)
        if sub_task and parent_task.sensitivity is not None and sub_task.sensitivity > parent_task.sensitivity:
            raise _Refusal(
                OAuthError(INVALID_AUTHORIZATION_DETAILS, "A sub-task cannot touch more sensitive data than its task."),
                "portal:exchange-broader", service,
            )
        grant_id, grant_end = _grant_cover(wanted, grants)
        ttl = _ttl(now, requested_ttl, grant_end, parent.expires_at)
        ttl, decision, policy = _decide(
            engine.EXCHANGE, identity, service, wanted, granted, sub_task, ttl, parent_task, offered, now, bool(jkt), client,
            # A person approved the parent task on its service: on another one, nobody did.
            approval_applies=parent_task.service_id == service.pk,
        )
        if ttl < 1:
            raise _Refusal(
                OAuthError(INVALID_REQUEST, "The subject_token expires too soon to exchange."), "portal:no-time-left", service, decision,
            )
        details = sub_task.details if sub_task else parent_task.authorization_details
        task_id, task_row = _task_row(
            identity=identity, service=service, scopes=wanted, now=now, parent_id=parent_task.pk,
            intent=sub_task.intent if sub_task else parent_task.intent,
            sensitivity=sub_task.sensitivity if sub_task else parent_task.sensitivity,
            details=details,
        )
        # RFC 8693 section 4.1: act names who acts for the subject, so a level is added only
        # for a delegation (another identity's token). A client narrowing its own token acts
        # for no one new: the token keeps the chain it had (none, or its delegation's).
        act = subject_claims.get("act") if isinstance(subject_claims.get("act"), dict) else None
        if holder is not None:
            act = {"sub": client.client_id, **({"act": act} if act else {})}
        token_row, event, claims = _token_rows(
            identity=identity, task_id=task_id, service=service, scopes=wanted, grant_id=grant_id, client=client,
            signer=signer, ttl=ttl, now=now, details=details, parent=parent, act=act, subject=subject_claims.get("sub"), jkt=jkt,
        )
        return _Writes(policy, (decision, task_row), token_row, event, claims, wanted, task_id, details)

    return _run(engine.EXCHANGE, client, audience, scopes, decide_and_write, ancestors=_token_ancestors(subject_claims))
