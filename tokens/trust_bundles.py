"""A trust domain's bundle, or a federated issuer's keys, kept current from where they are served.

SPIRE and other SPIFFE issuers rotate the keys that sign JWT-SVIDs: a bundle pasted once
stops verifying the trust domain's SVIDs at the first rotation. A trust domain given a bundle
endpoint (SPIFFE Trust Domain and Bundle, the https_web profile: the bundle served over TLS
that the web PKI authenticates) is fetched again by the sweep once its refresh hint has
passed (`spiffe_refresh_hint` in the bundle, else DEFAULT_REFRESH_SECONDS). A new set of keys
replaces the old one with one `trust_domain.bundle_refresh` event; an endpoint that cannot be
fetched or serves something that is not a bundle keeps the keys the portal has, says why on
the trust domains page, and is tried again on every sweep (`trust_domain.bundle_refresh_failed`
once, when it starts failing).

A federated issuer's JWKS URI (from its OpenID discovery document) is kept current the same
way: both are WorkloadPlatforms (tokens/models.py), and a JWKS is a bundle without the SPIFFE
members.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.outbound import validate_url

from .models import FederatedIssuer, TrustDomain, WorkloadPlatform
from .public_keys import clean_jwks
from .remote_json import FetchFailed, fetch_json, fetchable

DEFAULT_REFRESH_SECONDS = 300
MIN_REFRESH_SECONDS = 30  # whatever hint a bundle gives, not more often than this
# Nor less often than daily: a key withdrawn at the source leaves the portal within a day, and
# a hint of 10**30 seconds (the bundle's to write) fits the column and a timedelta.
MAX_REFRESH_SECONDS = 86400


def validate_bundle_endpoint(url: str) -> str:
    """The endpoint as kept: https (the https_web profile), or http on this machine (a SPIRE
    server beside the portal, or a test)."""
    url = url.strip()
    validate_url(url, "bundle_endpoint")
    if fetchable(url):
        return url
    raise ValidationError(
        {"bundle_endpoint": "Give the bundle endpoint's https:// URL (http:// only on this machine, e.g. http://127.0.0.1:8443/)."}
    )


def fetch_bundle(url: str, what: str = "The bundle endpoint") -> tuple[dict, int | None]:
    """The bundle at the endpoint, as the portal keeps it (public keys only), and its refresh
    hint. `what` names the endpoint in a failure (a trust domain's, or an issuer's JWKS URI)."""
    bundle = fetch_json(url, what)
    try:
        keys = clean_jwks(bundle)
    except ValidationError as error:
        raise FetchFailed(f"{what}'s answer is not a usable bundle: {' '.join(error.messages)}") from None
    hint = bundle.get("spiffe_refresh_hint")
    hint = min(hint, MAX_REFRESH_SECONDS) if isinstance(hint, int) and not isinstance(hint, bool) and hint > 0 else None
    return keys, hint


def kids_of(jwks: dict) -> list[str]:
    return [k["kid"] for k in jwks.get("keys", []) if "kid" in k]


def keys_change(held: dict, new: dict) -> tuple[dict, dict]:
    """A key set's change as the audit trail records it: the kids before and after; and, when
    other keys came under the same kids, the keys themselves (public halves only), else the
    trail would show no change where verification changed."""
    before, after = {"kids": kids_of(held or {})}, {"kids": kids_of(new or {})}
    if (new or {}) != (held or {}) and before["kids"] == after["kids"]:
        before["keys"], after["keys"] = (held or {}).get("keys", []), (new or {}).get("keys", [])
    return before, after


def clean_bundle(jwks) -> dict:
    try:
        return clean_jwks(jwks)
    except ValidationError as e:
        raise ValidationError({"jwks": e.error_list}) from None


def keys_from(jwks, bundle_endpoint: str, what: str = "The bundle endpoint") -> tuple[dict, str, int | None]:
    """The bundle to keep, the endpoint, and its refresh hint: the pasted bundle, or else the
    one the endpoint serves now (a trust domain is never registered without keys)."""
    endpoint = validate_bundle_endpoint(bundle_endpoint) if bundle_endpoint else ""
    if jwks not in (None, "", {}):
        return clean_bundle(jwks), endpoint, None
    if not endpoint:
        raise ValidationError({"jwks": "Paste the trust domain's bundle, or give its bundle endpoint."})
    try:
        fetched, hint = fetch_bundle(endpoint, what)
    except FetchFailed as error:
        raise ValidationError({"bundle_endpoint": str(error)}) from None
    return fetched, endpoint, hint


def is_due(domain: WorkloadPlatform, now) -> bool:
    if not domain.bundle_endpoint:
        return False
    if domain.bundle_fetched_at is None or domain.bundle_error:
        return True
    every = min(max(domain.refresh_hint or DEFAULT_REFRESH_SECONDS, MIN_REFRESH_SECONDS), MAX_REFRESH_SECONDS)
    return now - domain.bundle_fetched_at >= timedelta(seconds=every)


# What each kind of key holder's refresh is audited as.
_ACTIONS = {TrustDomain: "trust_domain.bundle_refresh", FederatedIssuer: "federated_issuer.keys_refresh"}


def bundle_refresh(*, actor, holder: WorkloadPlatform, now=None) -> str:
    """Fetch a trust domain's bundle or an issuer's keys now: "changed", "unchanged" or
    "failed". The fetch happens before the row is locked, so a slow endpoint holds no lock."""
    now = now or timezone.now()
    model, action = type(holder), _ACTIONS[type(holder)]
    try:
        fetched, hint = fetch_bundle(holder.bundle_endpoint, holder.KEYS_FROM)
        error = ""
    except FetchFailed as failure:
        fetched, hint, error = None, None, str(failure)[:500]
    with transaction.atomic():
        held = model.objects.select_for_update().get(pk=holder.pk)
        if error:
            if not held.bundle_error:
                audit_record(actor=actor, action=f"{action}_failed", obj=held,
                             after={"bundle_endpoint": held.bundle_endpoint, "error": error})
            held.bundle_error = error
            held.save(update_fields=["bundle_error"])
            return "failed"
        changed = fetched != held.jwks
        if changed:
            before, after = keys_change(held.jwks, fetched)
            audit_record(actor=actor, action=action, obj=held, before=before, after={**after, "bundle_endpoint": held.bundle_endpoint})
            held.jwks, held.updated_at = fetched, now
        held.bundle_error, held.bundle_fetched_at, held.refresh_hint = "", now, hint
        held.save(update_fields=["jwks", "updated_at", "bundle_error", "bundle_fetched_at", "refresh_hint"])
        return "changed" if changed else "unchanged"


def trust_bundles_refresh(*, actor, now=None) -> dict:
    """Refresh every trust domain's bundle and federated issuer's keys that are due
    (manage.py refresh_trust_bundles)."""
    now = now or timezone.now()
    counts = {"changed": 0, "unchanged": 0, "failed": 0}
    for model in (TrustDomain, FederatedIssuer):
        for holder in model.objects.exclude(bundle_endpoint="").filter(distrusted_at__isnull=True).order_by("name"):
            if is_due(holder, now):
                counts[bundle_refresh(actor=actor, holder=holder, now=now)] += 1
    return counts
