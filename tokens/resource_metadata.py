"""Registering a service from its OAuth protected resource metadata (RFC 9728).

MCP servers, and any resource server built on tokens/verifier.py, publish what they are at
/.well-known/oauth-protected-resource: their resource identifier (the audience), name,
scopes, whether they take only DPoP-bound tokens, and which authorization servers they
trust. A security admin gives the portal the service's URL (or that metadata URL); the
portal fetches it and fills in the registration form, which the admin completes (owner,
environment, sensitivity, scope descriptions) and saves as usual. Nothing is saved here.

The metadata's `resource` must be the URL it was fetched for (RFC 9728 section 3.3): a
server cannot pass itself off as another service's audience.
"""

import urllib.parse
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from nhiportal.conf import nhi_setting

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
    notes: list[str] = field(default_factory=list)


def metadata_location(url: str) -> tuple[str, str]:
    """(where the metadata is, the resource it must describe), for a resource URL or for the
    metadata URL itself. The well-known part goes between the host and the path (section 3.1)."""
    url = url.strip()
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
        scopes=list(dict.fromkeys(s for s in scopes if s and len(s) <= _SCOPE_MAX)), notes=notes,
    )
