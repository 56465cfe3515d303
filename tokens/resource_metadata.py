"""Registering a service from its OAuth protected resource metadata (RFC 9728).

MCP servers, and any resource server built on tokens/verifier.py, publish what they are at
/.well-known/oauth-protected-resource: their resource identifier (the audience), name,
scopes, whether they take only DPoP-bound tokens, and which authorization servers they
trust. A security admin gives the portal the service's URL (or that metadata URL); the
portal fetches it and fills in the registration form, which the admin completes (owner,
environment, sensitivity, scope descriptions) and saves as usual. Nothing is saved here.

The metadata's `resource` must be the URL it was fetched for (RFC 9728 section 3.3): a
server cannot pass itself off as another service's audience.

A service registered with its metadata URL is checked again daily (`manage.py
check_resource_metadata`, a sweep step): a scope it starts advertising that is not
registered here (an MCP server that grew a tool), or a registered one it no longer
advertises, is noted on the service's page with one `service.metadata_drift` event when it
appears or changes. Agents still get only registered, granted scopes: the note is for the
security admin to decide, never a change made behind their back.
"""

import urllib.parse
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from nhiportal.outbound import url_refusal

from .models import Service, ServiceScope
from .remote_json import FetchFailed, fetch_json, fetchable

WELL_KNOWN = "/.well-known/oauth-protected-resource"
_NAME_MAX = Service._meta.get_field("name").max_length
_SCOPE_MAX = ServiceScope._meta.get_field("name").max_length


@dataclass(frozen=True)
class ServiceDraft:
    """What the registration form starts with, and what the admin should know before saving."""

    name: str
    audience: str
    requires_dpop: bool
    scopes: list[str]
    metadata_url: str = ""  # where it was read: kept on the service for the daily check
    notes: list[str] = field(default_factory=list)


def metadata_location(url: str) -> tuple[str, str]:
    """(where the metadata is, the resource it must describe), for a resource URL or for the
    metadata URL itself. The well-known part goes between the host and the path (section 3.1)."""
    url = url.strip()
    if refusal := url_refusal(url):
        raise ValidationError(refusal)
    if not fetchable(url):
        raise ValidationError("Give the service's https:// URL (http:// only on this machine).")
    parts = urllib.parse.urlsplit(url)
    if parts.path.startswith(WELL_KNOWN):
        resource_path = parts.path[len(WELL_KNOWN):]
        return url, urllib.parse.urlunsplit((parts.scheme, parts.netloc, resource_path, parts.query, ""))
    if parts.fragment:
        raise ValidationError("A resource identifier has no fragment (#...).")
    path = parts.path.rstrip("/") if parts.path != "/" else ""
    location = urllib.parse.urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, parts.query, ""))
    return location, url


def _same_resource(resource: str) -> set[str]:
    parts = urllib.parse.urlsplit(resource)
    if parts.path in ("", "/") and not parts.query:
        bare = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        return {bare, bare + "/"}
    return {resource}


def _strings(metadata: dict, name: str) -> list[str]:
    value = metadata.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FetchFailed(f"The metadata's {name} is not a list of strings.")
    return value


def service_draft(url: str) -> ServiceDraft:
    """The service the metadata at (or for) `url` describes; ValidationError for a URL the
    portal will not fetch, FetchFailed for an answer it cannot use."""
    location, resource = metadata_location(url)
    metadata = fetch_json(location, "The service's metadata")
    if not isinstance(metadata, dict):
        raise FetchFailed("The service's metadata is not a JSON object.")
    if metadata.get("resource") not in _same_resource(resource):
        # Compared as given (RFC 9728 section 3.3 asks for identical values), but for the
        # slash a bare host may be written with.
        raise FetchFailed(
            f"The metadata describes {metadata.get('resource')!r}, not {resource!r}: it may not be used for this service "
            "(RFC 9728 section 3.3). Give the URL the service names as its resource."
        )
    scopes = _strings(metadata, "scopes_supported")
    servers = _strings(metadata, "authorization_servers")
    notes = []
    issuer = nhi_setting("ISSUER").rstrip("/")
    if issuer not in (s.rstrip("/") for s in servers):
        notes.append(
            f"Its metadata names {', '.join(servers) if servers else 'no authorization server'}, not this portal ({issuer}): "
            "agents that follow it will not ask here for tokens. Add the portal to its authorization_servers."
        )
    long = [s for s in scopes if len(s) > _SCOPE_MAX]
    if long:
        notes.append(f"Left out scopes longer than {_SCOPE_MAX} characters: {', '.join(long)}.")
    name = metadata.get("resource_name")
    if not isinstance(name, str) or not name.strip():
        name = urllib.parse.urlsplit(resource).hostname or resource
    dpop = metadata.get("dpop_bound_access_tokens_required") is True
    return ServiceDraft(
        name=name.strip()[:_NAME_MAX], audience=metadata["resource"], requires_dpop=dpop,
        scopes=list(dict.fromkeys(s for s in scopes if s and len(s) <= _SCOPE_MAX)), metadata_url=location, notes=notes,
    )


def scope_drift(service: Service) -> dict:
    """How the service's metadata now differs from its registration: {} when in step."""
    try:
        draft = service_draft(service.metadata_url)
    except (FetchFailed, ValidationError) as failure:
        return {"error": " ".join(failure.messages) if isinstance(failure, ValidationError) else str(failure)}
    registered = set(service.scopes.values_list("name", flat=True))
    advertised = set(draft.scopes)
    drift = {"unregistered": sorted(advertised - registered), "withdrawn": sorted(registered - advertised)}
    if draft.audience.rstrip("/") != service.audience.rstrip("/"):
        drift["audience"] = draft.audience
    return {k: v for k, v in drift.items() if v}


def resource_metadata_check(*, actor, service: Service, now=None) -> dict:
    """Fetch the service's metadata now and keep what differs; one event when that changes.
    The fetch happens before the row is locked, so a slow server holds no lock."""
    now = now or timezone.now()
    drift = scope_drift(service)
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=service.pk)
        if drift != service.metadata_drift:
            audit_record(
                actor=actor, action="service.metadata_drift", obj=service,
                before=service.metadata_drift or {"in step": True}, after=drift or {"in step": True},
            )
        service.metadata_drift, service.metadata_checked_at = drift, now
        service.save(update_fields=["metadata_drift", "metadata_checked_at"])
    return drift


def services_check_metadata(*, actor, now=None) -> dict:
    """Check every service registered with a metadata URL (manage.py check_resource_metadata)."""
    counts = {"in step": 0, "drifted": 0, "failed": 0}
    for service in Service.objects.exclude(metadata_url="").order_by("name"):
        drift = resource_metadata_check(actor=actor, service=service, now=now)
        counts["failed" if "error" in drift else "drifted" if drift else "in step"] += 1
    return counts
