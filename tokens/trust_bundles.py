"""A trust domain's bundle, kept current from its SPIFFE bundle endpoint.

SPIRE and other SPIFFE issuers rotate the keys that sign JWT-SVIDs: a bundle pasted once
stops verifying the trust domain's SVIDs at the first rotation. A trust domain given a bundle
endpoint (SPIFFE Trust Domain and Bundle, the https_web profile: the bundle served over TLS
that the web PKI authenticates) is fetched again by the sweep once its refresh hint has
passed (`spiffe_refresh_hint` in the bundle, else DEFAULT_REFRESH_SECONDS). A new set of keys
replaces the old one with one `trust_domain.bundle_refresh` event; an endpoint that cannot be
fetched or serves something that is not a bundle keeps the keys the portal has, says why on
the trust domains page, and is tried again on every sweep (`trust_domain.bundle_refresh_failed`
once, when it starts failing).
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record

from .models import TrustDomain
from .public_keys import clean_jwks
from .remote_json import FetchFailed, fetch_json, fetchable

DEFAULT_REFRESH_SECONDS = 300
MIN_REFRESH_SECONDS = 30  # whatever hint a bundle gives, not more often than this


def validate_bundle_endpoint(url: str) -> str:
    """The endpoint as kept: https (the https_web profile), or http on this machine (a SPIRE
    server beside the portal, or a test)."""
    url = url.strip()
    if fetchable(url):
        return url
    raise ValidationError(
        {"bundle_endpoint": "Give the bundle endpoint's https:// URL (http:// only on this machine, e.g. http://127.0.0.1:8443/)."}
    )


def fetch_bundle(url: str) -> tuple[dict, int | None]:
    """The bundle at the endpoint, as the portal keeps it (public keys only), and its refresh hint."""
    bundle = fetch_json(url, "The bundle endpoint")
    try:
        keys = clean_jwks(bundle)
    except ValidationError as error:
        raise FetchFailed(f"The bundle endpoint's answer is not a usable bundle: {' '.join(error.messages)}") from None
    hint = bundle.get("spiffe_refresh_hint")
    hint = hint if isinstance(hint, int) and not isinstance(hint, bool) and hint > 0 else None
    return keys, hint


def _kids(jwks: dict) -> list[str]:
    return [k["kid"] for k in jwks.get("keys", []) if "kid" in k]


def is_due(domain: TrustDomain, now) -> bool:
    if not domain.bundle_endpoint:
        return False
    if domain.bundle_fetched_at is None or domain.bundle_error:
        return True
    every = max(domain.refresh_hint or DEFAULT_REFRESH_SECONDS, MIN_REFRESH_SECONDS)
    return now - domain.bundle_fetched_at >= timedelta(seconds=every)


def trust_domain_refresh(*, actor, trust_domain: TrustDomain, now=None) -> str:
    """Fetch the trust domain's bundle now: "changed", "unchanged" or "failed". The fetch
    happens before the row is locked, so a slow endpoint holds no lock."""
    now = now or timezone.now()
    try:
        fetched, hint = fetch_bundle(trust_domain.bundle_endpoint)
        error = ""
    except FetchFailed as failure:
        fetched, hint, error = None, None, str(failure)[:500]
    with transaction.atomic():
        domain = TrustDomain.objects.select_for_update().get(pk=trust_domain.pk)
        if error:
            if not domain.bundle_error:
                audit_record(actor=actor, action="trust_domain.bundle_refresh_failed", obj=domain,
                             after={"bundle_endpoint": domain.bundle_endpoint, "error": error})
            domain.bundle_error = error
            domain.save(update_fields=["bundle_error"])
            return "failed"
        changed = fetched != domain.jwks
        if changed:
            audit_record(actor=actor, action="trust_domain.bundle_refresh", obj=domain,
                         before={"kids": _kids(domain.jwks)}, after={"kids": _kids(fetched), "bundle_endpoint": domain.bundle_endpoint})
            domain.jwks, domain.updated_at = fetched, now
        domain.bundle_error, domain.bundle_fetched_at, domain.refresh_hint = "", now, hint
        domain.save(update_fields=["jwks", "updated_at", "bundle_error", "bundle_fetched_at", "refresh_hint"])
        return "changed" if changed else "unchanged"


def trust_bundles_refresh(*, actor, now=None) -> dict:
    """Refresh every trust domain whose bundle is due (manage.py refresh_trust_bundles)."""
    now = now or timezone.now()
    counts = {"changed": 0, "unchanged": 0, "failed": 0}
    for domain in TrustDomain.objects.exclude(bundle_endpoint="").order_by("name"):
        if is_due(domain, now):
            counts[trust_domain_refresh(actor=actor, trust_domain=domain, now=now)] += 1
    return counts
