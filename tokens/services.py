"""Writes for the token service's catalogue: services and their scopes, trust domains, grants.

One function per use case, one transaction, one audit event. Workload credentials are in
credentials.py, signing keys in keys.py, tokens and tasks in issuance.py and revocation.py.
"""

import re
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import AIIdentity, Ownership
from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.names import refuse_unseen
from nhiportal.outbound import validate_url

from .models import Grant, IssuedToken, Service, ServiceScope, TrustDomain
from .public_keys import jwk_thumbprint, parse_public_jwk
from .remote_json import fetchable
from .revocation import Revoked, live_tokens, lock_for_revoking, lock_identity, revoke_matching, revoke_not_covered_by_grants
from .trust_bundles import clean_bundle, keys_change, keys_from, kids_of, validate_bundle_endpoint

# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]{1,80}$")
ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
TRUST_DOMAIN_NAME = re.compile(r"^[a-z0-9._\-]{1,255}$")
SERVICE_FIELDS = (
    "name", "audience", "description", "owner", "environment", "trust_boundary", "sensitivity", "is_active", "requires_dpop",
    "metadata_url",
)


def _scope_rows(scopes) -> list[dict]:
    rows, seen = [], set()
    for entry in scopes or ():
        entry = {"name": entry} if isinstance(entry, str) else dict(entry)
        name = str(entry.get("name", "")).strip()
        if not SCOPE_TOKEN.match(name):
            raise ValidationError({"scopes": f"{name[:40]!r} is not a valid scope name (no spaces, quotes or backslashes)."})
        if name in seen:
            raise ValidationError({"scopes": f"The scope {name!r} is listed twice."})
        seen.add(name)
        rows.append(
            {"name": name, "description": str(entry.get("description", "")).strip()[:255], "consequential": bool(entry.get("consequential"))}
        )
    return rows


def _clean_audience(audience: str) -> str:
    audience = (audience or "").strip()
    if not ABSOLUTE_URI.match(audience):
        raise ValidationError({"audience": "The audience is an absolute URI, e.g. https://crm.example.com."})
    return audience


def _clean_metadata_url(url: str) -> str:
    url = (url or "").strip()
    validate_url(url, "metadata_url")
    if url and not fetchable(url):
        raise ValidationError({"metadata_url": "Give its metadata's https:// URL (http:// only on this machine), or leave it empty."})
    return url


def _clean_introspection_jwk(value):
    if value in (None, "", {}):
        return None
    try:
        return parse_public_jwk(value).jwk
    except ValidationError as e:
        raise ValidationError({"introspection_jwk": e.error_list}) from None


def service_snapshot(service: Service) -> dict:
    data = {f: getattr(service, f) for f in SERVICE_FIELDS if f != "owner"}
    data["owner"] = service.owner.get_username()
    data["scopes"] = [
        {"name": s.name, "description": s.description, "consequential": s.consequential} for s in service.scopes.all()
    ]
    # Which key authenticates its introspection calls, by thumbprint (public, and short): a swap
    # of one key for another is a change the trail must show.
    data["introspection"] = jwk_thumbprint(service.introspection_jwk) if service.introspection_jwk else None
    return data


def _save_service(service: Service) -> None:
    refuse_unseen("name", service.name)
    service.full_clean()
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        raise ValidationError({"audience": "Another service has this name or audience."}) from None


@transaction.atomic
def service_create(
    *,
    actor,
    name: str,
    audience: str,
    owner,
    description: str = "",
    environment: str = "production",
    trust_boundary: str = "",
    sensitivity: int = 2,
    scopes=(),
    introspection_jwk=None,
    requires_dpop: bool = False,
    metadata_url: str = "",
) -> Service:
    """Register a resource server and the scopes it offers."""
    service = Service(
        metadata_url=_clean_metadata_url(metadata_url),
        name=name.strip(),
        audience=_clean_audience(audience),
        owner=owner,
        description=description.strip(),
        environment=environment,
        trust_boundary=trust_boundary.strip(),
        sensitivity=sensitivity,
        introspection_jwk=_clean_introspection_jwk(introspection_jwk),
        requires_dpop=requires_dpop,
    )
    rows = _scope_rows(scopes)
    _save_service(service)
    ServiceScope.objects.bulk_create([ServiceScope(service=service, **row) for row in rows])
    audit_record(actor=actor, action="service.create", obj=service, after=service_snapshot(service))
    return service


SERVICE_REASON_NEEDED = "Say why: deactivating a service or removing a scope revokes tokens and narrows grants."


def _needs_reason(before: dict, service: Service, removed: set) -> bool:
    """Deactivating it or withdrawing scopes ends access others hold: a person says why."""
    return bool(removed) or (before["is_active"] and not service.is_active)


def _grants_narrow_to_service(service: Service, removed: set, *, label: str, reason: str, now) -> tuple[int, int, set]:
    """The service no longer offers `removed`: take those scopes off every live or upcoming
    grant on it (each identity locked first, in the order issuance locks, so no token slips
    in), revoking a grant left with none. Returns (grants narrowed, grants revoked, identities)."""
    grants = [
        g for g in Grant.objects.filter(service=service, revoked_at__isnull=True, ends_at__gt=now)
        if removed & set(g.scopes)
    ]
    identities = {g.identity_id for g in grants}
    lock_for_revoking(identities, live_tokens(IssuedToken.objects.filter(identity_id__in=identities, audience=service.audience), now))
    narrowed = revoked = 0
    for grant in Grant.objects.filter(pk__in=[g.pk for g in grants], revoked_at__isnull=True):
        if _grant_scopes_take(grant, removed, label=label, reason=reason, now=now):
            revoked += 1
        else:
            narrowed += 1
    return narrowed, revoked, identities


@transaction.atomic
def service_update(
    *, actor, service: Service, scopes=None, introspection_jwk=..., reason: str | None = None, **changes
) -> Service:
    """Change a service; `scopes` (if given) replaces the list. Tokens that lose their footing
    are revoked. A scope it no longer offers is taken off every live grant on it (a grant left
    with none is revoked), so adding the scope back later restores nobody's access unreviewed.

    `reason`: a person's request (the page, the API) passes what they typed, and must say why
    when it deactivates the service or removes scopes; the event and each token revoked keep
    it. None (code: a handover, a script) records a stock reason instead."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    unknown = set(changes) - set(SERVICE_FIELDS)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    before = service_snapshot(service)
    old_audience = service.audience
    for field, value in changes.items():
        setattr(service, field, value.strip() if isinstance(value, str) else value)
    service.audience = _clean_audience(service.audience)
    service.metadata_url = _clean_metadata_url(service.metadata_url)
    if service.metadata_url != before.get("metadata_url"):
        service.metadata_drift, service.metadata_checked_at = {}, None  # judged anew by the next check
    if introspection_jwk is not ...:
        service.introspection_jwk = _clean_introspection_jwk(introspection_jwk)
    removed, rows = set(), None
    if scopes is not None:
        rows = {row["name"]: row for row in _scope_rows(scopes)}
        removed = {s.name for s in service.scopes.all()} - set(rows)
    why = (reason or "").strip()
    if reason is not None and not why and _needs_reason(before, service, removed):
        raise ValidationError({"reason": SERVICE_REASON_NEEDED})
    if rows is not None:
        current = {s.name: s for s in service.scopes.all()}
        ServiceScope.objects.filter(service=service, name__in=removed).delete()
        for name, row in rows.items():
            scope = current.get(name)
            if scope is None:
                ServiceScope.objects.create(service=service, **row)
            elif (scope.description, scope.consequential) != (row["description"], row["consequential"]):
                scope.description, scope.consequential = row["description"], row["consequential"]
                scope.save(update_fields=["description", "consequential"])
    # Read before the save: an edit that changes nothing writes nothing, not even updated_at.
    after = service_snapshot(service)
    if after == before:
        return service
    now = timezone.now()
    service.updated_at = now
    _save_service(service)
    label = actor_label(actor)
    tokens = IssuedToken.objects.filter(audience=old_audience)
    taken = {}
    if removed:
        withdrawn = f"{'Scope' if len(removed) == 1 else 'Scopes'} {', '.join(sorted(removed))} withdrawn from {service.name}"
        grant_reason = f"{withdrawn}: {why}" if why else f"{withdrawn}."
        taken["grants_narrowed"], taken["grants_revoked"], identities = _grants_narrow_to_service(
            service, removed, label=label, reason=grant_reason, now=now,
        )
    revoked = Revoked()
    if not service.is_active or service.audience != old_audience:
        stock = "The service was deactivated." if not service.is_active else "The service's audience changed."
        revoked = revoke_matching(tokens, label=label, reason=f"{stock.rstrip('.')}: {why}" if why else stock, now=now)
    elif removed:
        # As grant narrowing does: what the narrowed grants no longer cover, then any token
        # still carrying a withdrawn scope (one obtained through another identity's grant, say).
        scope_reason = f"A scope it carried was withdrawn from the service: {why}" if why else "A scope it carried was removed from the service."
        for identity_id in sorted(identities, key=str):
            revoked += revoke_not_covered_by_grants(identity_id=identity_id, service=service, label=label, reason=scope_reason, now=now)
        affected = [pk for pk, scopes in live_tokens(tokens, now).values_list("pk", "scopes") if removed & set(scopes)]
        revoked += revoke_matching(IssuedToken.objects.filter(pk__in=affected), label=label, reason=scope_reason, now=now)
    taken.update(revoked.counts())
    changed = {k for k in after if after[k] != before.get(k)}
    audit_record(
        actor=actor, action="service.update", obj=service, before={k: before.get(k) for k in changed},
        after={**{k: after[k] for k in changed}, **{name: count for name, count in taken.items() if count}}, reason=why,
    )
    return service


def on_ownerships_handed_over(sender, *, leaver, successor, actor, reason, **kwargs) -> dict:
    """A person's ownership passes to a successor (inventory/handover.py): so do their services,
    one service.update event each, in the handover's transaction."""
    services = list(Service.objects.filter(owner=leaver).order_by("name"))
    for service in services:
        service_update(actor=actor, service=service, owner=successor, reason=reason)
    return {"services": len(services)}


@transaction.atomic
def trust_domain_create(*, actor, name: str, jwks=None, bundle_endpoint: str = "") -> TrustDomain:
    """Register a SPIFFE trust domain and its JWT bundle (public keys only), pasted or fetched
    from its bundle endpoint, which the sweep then keeps fetching."""
    name = name.strip().lower().removeprefix("spiffe://").rstrip("/")
    if not TRUST_DOMAIN_NAME.match(name):
        raise ValidationError({"name": "A trust domain name is lower-case letters, digits, dots, dashes and underscores."})
    if TrustDomain.objects.filter(name=name).exists():
        raise ValidationError({"name": "This trust domain is already registered."})
    keys, endpoint, hint = keys_from(jwks, bundle_endpoint)
    domain = TrustDomain(
        name=name, jwks=keys, bundle_endpoint=endpoint, refresh_hint=hint,
        bundle_fetched_at=timezone.now() if endpoint and jwks in (None, "", {}) else None,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    domain.full_clean()
    domain.save()
    audit_record(actor=actor, action="trust_domain.create", obj=domain,
                 after={"name": name, "kids": kids_of(domain.jwks), "bundle_endpoint": endpoint})
    return domain


@transaction.atomic
def trust_domain_update(*, actor, trust_domain: TrustDomain, jwks=None, bundle_endpoint: str | None = None) -> TrustDomain:
    """Replace the bundle (the trust domain rotated its keys), or change where it is fetched
    from: a new endpoint without a pasted bundle is fetched now; an empty one means by hand."""
    domain = TrustDomain.objects.select_for_update().get(pk=trust_domain.pk)
    held, endpoint_before = domain.jwks, domain.bundle_endpoint
    fetched = False
    if bundle_endpoint is not None and bundle_endpoint.strip() != domain.bundle_endpoint:
        endpoint = validate_bundle_endpoint(bundle_endpoint) if bundle_endpoint.strip() else ""
        # Due at once: the sweep fetches it on its next run, unless it is fetched below.
        domain.bundle_endpoint, domain.bundle_error, domain.bundle_fetched_at, domain.refresh_hint = endpoint, "", None, None
    if jwks not in (None, "", {}):
        domain.jwks = clean_bundle(jwks)
    elif domain.bundle_endpoint and domain.bundle_fetched_at is None:
        domain.jwks, _, domain.refresh_hint = keys_from(None, domain.bundle_endpoint)
        domain.bundle_fetched_at, fetched = timezone.now(), True
    before, after = keys_change(held, domain.jwks)
    before["bundle_endpoint"], after["bundle_endpoint"] = endpoint_before, domain.bundle_endpoint
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        # The same bundle pasted or fetched again changes nothing to record: only when it was
        # fetched is kept (as federated_issuer_update does), and without an event.
        if fetched:
            domain.save(update_fields=["bundle_fetched_at", "refresh_hint"])
        return domain
    domain.updated_at = timezone.now()
    domain.full_clean()
    domain.save()
    audit_record(actor=actor, action="trust_domain.update", obj=domain,
                 before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return domain


def _grant_repr(grant: Grant) -> str:
    """How the audit trail names a grant (its __str__ knows only ids, to stay query-free)."""
    return f"grant #{grant.pk}: {' '.join(grant.scopes)} on {grant.service.name} for {grant.identity.name}"[:200]


def _grant_snapshot(grant: Grant) -> dict:
    return {
        "identity": str(grant.identity_id),
        "service": grant.service.audience,
        "scopes": grant.scopes,
        "starts_at": grant.starts_at,
        "ends_at": grant.ends_at,
    }


SELF_GRANT = (
    "You own this identity, so a grant to it needs a second person: ask another security admin to grant it, "
    "or request the access on /access-requests/, where someone who does not own it decides."
)


def self_grant_refusal(actor, identity: AIIdentity) -> str:
    """Why `actor` may not grant `identity` anything ("" if they may): they own it, as its
    primary or a backup owner. Access reviews and access requests hold the same line."""
    if getattr(actor, "pk", None) and Ownership.objects.filter(identity_id=identity.pk, person_id=actor.pk).exists():
        return SELF_GRANT
    return ""


@transaction.atomic
def grant_create(
    *,
    actor,
    identity: AIIdentity,
    service: Service,
    scopes,
    ends_at: datetime,
    justification: str = "",
    starts_at: datetime | None = None,
) -> Grant:
    """Give an identity some of a service's scopes until ends_at. Nobody grants an identity
    they own (PermissionDenied): that access needs a second person."""
    refusal = self_grant_refusal(actor, identity)
    if refusal:
        raise PermissionDenied(refusal)
    identity = lock_identity(identity.pk)
    if identity.is_offboarded:
        raise StateConflict({"identity": "An offboarded identity cannot receive grants."})
    if not service.is_active:
        raise ValidationError({"service": "This service is inactive."})
    scopes = sorted(set(scopes or ()))
    offered = set(service.scopes.values_list("name", flat=True))
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope."})
    unknown = [s for s in scopes if s not in offered]
    if unknown:
        raise ValidationError({"scopes": f"The service does not offer: {', '.join(unknown)}."})
    now = timezone.now()
    starts_at = starts_at or now
    if ends_at <= max(starts_at, now):
        raise ValidationError({"ends_at": "The end date must be in the future and after the start."})
    grant = Grant(
        identity=identity,
        service=service,
        scopes=scopes,
        starts_at=starts_at,
        ends_at=ends_at,
        justification=justification.strip(),
        granted_by=actor if getattr(actor, "pk", None) else None,
    )
    grant.full_clean()
    grant.save()
    audit_record(
        actor=actor, action="grant.create", obj=grant, object_repr=_grant_repr(grant), after=_grant_snapshot(grant), reason=grant.justification
    )
    return grant


@transaction.atomic
def grant_reduce(*, actor, grant: Grant, remove, reason: str) -> Grant:
    """Take scopes off a live or upcoming grant (what goes unused goes); its tokens that carry
    a scope no remaining grant covers are revoked. Taking every scope revokes the grant."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why these scopes go."})
    _lock_for_grant(grant)
    grant = Grant.objects.select_related("identity", "service").get(pk=grant.pk)
    if grant.revoked_at is not None or grant.ends_at <= timezone.now():
        raise StateConflict({"scopes": "This grant has ended: it holds nothing to take away."})
    remove = set(remove or ())
    if not remove:
        raise ValidationError({"scopes": "Choose at least one scope to remove."})
    unknown = sorted(remove - set(grant.scopes))
    if unknown:
        raise ValidationError({"scopes": f"The grant does not hold: {', '.join(unknown)}."})
    if remove == set(grant.scopes):
        return grant_revoke(actor=actor, grant=grant, reason=reason)
    before = list(grant.scopes)
    _grant_scopes_take(grant, remove, label=actor_label(actor), reason=reason.strip(), now=timezone.now())
    _grant_narrowed(actor=actor, grant=grant, action="grant.reduce", why="Scopes removed", reason=reason,
                    before={"scopes": before}, after={"scopes": grant.scopes})
    return grant


def _grant_scopes_take(grant: Grant, remove: set, *, label: str, reason: str, now) -> bool:
    """Take `remove` off the grant (saved): what it kept unused goes with it. A grant left with
    no scope is revoked, with `reason`. Returns whether it was revoked. The caller holds the
    identity's lock, revokes the tokens no grant covers any more and writes the audit event."""
    kept = [s for s in grant.scopes if s not in remove]
    if not kept:
        grant.revoked_at, grant.revoked_by_label, grant.revoke_reason = now, label[:200], reason
        grant.save(update_fields=["revoked_at", "revoked_by_label", "revoke_reason"])
        return True
    grant.scopes = kept
    grant.unused_scopes = [s for s in grant.unused_scopes or () if s not in remove]
    if not grant.unused_scopes:
        grant.unused_told_at = None  # nothing unused is left to tell anyone about
    grant.save(update_fields=["scopes", "unused_scopes", "unused_told_at"])
    return False


def _lock_for_grant(grant: Grant) -> None:
    """The grant's identity, with the agents holding sub-tasks opened by exchanging its tokens
    on the service: those that lose their footing take their sub-tasks with them."""
    lock_for_revoking(
        [grant.identity_id], live_tokens(IssuedToken.objects.filter(identity_id=grant.identity_id, audience=grant.service.audience)),
    )


def _grant_narrowed(*, actor, grant: Grant, action: str, why: str, reason: str, before: dict, after: dict) -> None:
    """After a grant lost scopes or ended: revoke the live tokens no remaining grant covers,
    and write the one audit event, counting them."""
    revoked = revoke_not_covered_by_grants(
        identity_id=grant.identity_id, service=grant.service, label=actor_label(actor), reason=f"{why}: {reason.strip()}"[:200]
    )
    audit_record(
        actor=actor, action=action, obj=grant, object_repr=_grant_repr(grant),
        before=before, after={**after, **revoked.counts()}, reason=reason.strip(),
    )


@transaction.atomic
def grant_revoke(*, actor, grant: Grant, reason: str) -> Grant:
    """End a grant now; live tokens that relied on it are revoked in the same transaction."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the grant is revoked."})
    _lock_for_grant(grant)
    grant = Grant.objects.select_related("identity", "service").get(pk=grant.pk)
    if grant.revoked_at is not None:
        return grant
    label = actor_label(actor)
    grant.revoked_at = timezone.now()
    grant.revoked_by_label = label[:200]
    grant.revoke_reason = reason.strip()
    grant.save(update_fields=["revoked_at", "revoked_by_label", "revoke_reason"])
    _grant_narrowed(actor=actor, grant=grant, action="grant.revoke", why="Grant revoked", reason=reason,
                    before={"revoked_at": None}, after={"revoked_at": grant.revoked_at})
    return grant


EXPIRY_BATCH = 500


def grants_expired_report(*, actor, now=None) -> int:
    """One grant.expired event per grant that ran out (ends_at passed, never revoked) and was
    not reported yet, so the identity's history and the SIEM see access end by itself as they
    see it revoked. Each grant is reported once (expiry_reported_at), in the transaction that
    writes its event; an indexed read (grant_expiry_unreported_idx) finds them. Its tokens
    ended with it already: none outlives its grant. Returns how many were reported."""
    now = now or timezone.now()
    reported = 0
    while True:
        with transaction.atomic():
            # Locked and read again: a second run at once (cron beside the sweep) waits, then
            # finds them reported.
            grants = list(
                Grant.objects.select_for_update(of=("self",))
                .filter(revoked_at__isnull=True, expiry_reported_at__isnull=True, ends_at__lte=now)
                .select_related("identity", "service")
                .order_by("ends_at", "pk")[:EXPIRY_BATCH]
            )
            for grant in grants:
                grant.expiry_reported_at = now
                audit_record(
                    actor=actor, action="grant.expired", obj=grant, object_repr=_grant_repr(grant),
                    before={"state": "live"}, after={"state": "expired", "ends_at": grant.ends_at, "scopes": grant.scopes},
                )
            Grant.objects.filter(pk__in=[g.pk for g in grants]).update(expiry_reported_at=now)
        reported += len(grants)
        if len(grants) < EXPIRY_BATCH:
            return reported
