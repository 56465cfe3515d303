"""Writes for the token service's catalogue: services and their scopes, trust domains, grants.

One function per use case, one transaction, one audit event. Workload credentials are in
credentials.py, signing keys in keys.py, tokens and tasks in issuance.py and revocation.py.
"""

import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import AIIdentity
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.outbound import validate_url

from .models import Grant, IssuedToken, Service, ServiceScope, TrustDomain
from .public_keys import jwk_thumbprint, parse_public_jwk
from .remote_json import fetchable
from .revocation import lock_identity, revoke_matching, revoke_not_covered_by_grants
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


@transaction.atomic
def service_update(*, actor, service: Service, scopes=None, introspection_jwk=..., reason: str = "", **changes) -> Service:
    """Change a service; `scopes` (if given) replaces the list. Tokens that lose their footing are revoked."""
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
    removed = set()
    if scopes is not None:
        rows = {row["name"]: row for row in _scope_rows(scopes)}
        current = {s.name: s for s in service.scopes.all()}
        removed = set(current) - set(rows)
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
    service.updated_at = timezone.now()
    _save_service(service)
    label = actor_label(actor)
    tokens = IssuedToken.objects.filter(audience=old_audience)
    revoked = 0
    if not service.is_active or service.audience != old_audience:
        revoked = revoke_matching(tokens, label=label, reason="The service was deactivated or its audience changed.")
    elif removed:
        affected = [pk for pk, scopes in tokens.filter(revoked_at__isnull=True).values_list("pk", "scopes") if removed & set(scopes)]
        revoked = revoke_matching(
            IssuedToken.objects.filter(pk__in=affected), label=label, reason="A scope it carried was removed from the service."
        )
    changed = {k for k in after if after[k] != before.get(k)}
    audit_record(
        actor=actor, action="service.update", obj=service, before={k: before.get(k) for k in changed},
        after={**{k: after[k] for k in changed}, **({"tokens_revoked": revoked} if revoked else {})}, reason=reason.strip(),
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
    """Give an identity some of a service's scopes until ends_at."""
    identity = lock_identity(identity.pk)
    if identity.is_offboarded:
        raise ValidationError({"identity": "An offboarded identity cannot receive grants."})
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
    lock_identity(grant.identity_id)
    grant = Grant.objects.select_related("identity", "service").get(pk=grant.pk)
    if grant.revoked_at is not None or grant.ends_at <= timezone.now():
        raise ValidationError({"scopes": "This grant has ended: it holds nothing to take away."})
    remove = set(remove or ())
    if not remove:
        raise ValidationError({"scopes": "Choose at least one scope to remove."})
    unknown = sorted(remove - set(grant.scopes))
    if unknown:
        raise ValidationError({"scopes": f"The grant does not hold: {', '.join(unknown)}."})
    if remove == set(grant.scopes):
        return grant_revoke(actor=actor, grant=grant, reason=reason)
    before = list(grant.scopes)
    grant.scopes = [s for s in grant.scopes if s not in remove]
    grant.unused_scopes = [s for s in grant.unused_scopes or () if s not in remove]
    if not grant.unused_scopes:
        grant.unused_told_at = None  # nothing unused is left to tell anyone about
    grant.save(update_fields=["scopes", "unused_scopes", "unused_told_at"])
    _grant_narrowed(actor=actor, grant=grant, action="grant.reduce", why="Scopes removed", reason=reason,
                    before={"scopes": before}, after={"scopes": grant.scopes})
    return grant


def _grant_narrowed(*, actor, grant: Grant, action: str, why: str, reason: str, before: dict, after: dict) -> None:
    """After a grant lost scopes or ended: revoke the live tokens no remaining grant covers,
    and write the one audit event, counting them."""
    revoked = revoke_not_covered_by_grants(
        identity_id=grant.identity_id, service=grant.service, label=actor_label(actor), reason=f"{why}: {reason.strip()}"[:200]
    )
    audit_record(
        actor=actor, action=action, obj=grant, object_repr=_grant_repr(grant),
        before=before, after={**after, "tokens_revoked": revoked}, reason=reason.strip(),
    )


@transaction.atomic
def grant_revoke(*, actor, grant: Grant, reason: str) -> Grant:
    """End a grant now; live tokens that relied on it are revoked in the same transaction."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the grant is revoked."})
    lock_identity(grant.identity_id)
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
