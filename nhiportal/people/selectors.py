"""Reads for people: their personal API tokens and sessions, and who can be mailed about decisions."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from ua_parser import parse as parse_user_agent

from nhiportal.audit.models import AuditEvent

from .ending_sessions import open_sessions_of, session_reference
from .models import EXPOSED, DirectoryEntry, DirectoryGroup, PersonalAPIToken, session_key_digest
from .roles import REVIEWER, SECURITY_ADMIN, is_security_admin


def deactivated_in_the_portal(person) -> bool:
    """Whether the person's last deactivation, not since undone, was a portal's (a security admin
    on the people page or the API) rather than the directory's: the audit trail is the record."""
    last = (
        AuditEvent.objects.filter(
            object_type=person._meta.label_lower, object_id=str(person.pk), action__in=("person.deactivate", "person.reactivate"),
        ).order_by("-id").values("action", "after").first()
    )
    return bool(last) and last["action"] == "person.deactivate" and not (last["after"] or {}).get("by_directory")


def api_tokens_of(user) -> QuerySet:
    """A person's own tokens, newest first. Nobody else's: other people's tokens are a 404."""
    return PersonalAPIToken.objects.filter(user=user).order_by("-created_at", "-id")


@dataclass(frozen=True)
class SessionRow:
    reference: str  # what the page's sign-out form names it by (ending_sessions.session_reference)
    browser: str
    client: str  # the browser's own description of itself (User-Agent), in full
    address: str | None
    signed_in_at: datetime | None  # None for a session signed in to before the portal noted it
    expires_at: datetime
    is_current: bool


def browser_name(client: str) -> str:
    """"Firefox 140 on Windows", from a User-Agent; what a person recognises their browser by."""
    if not client:
        return "Unknown browser"
    parsed = parse_user_agent(client)
    agent = parsed.user_agent
    name = " ".join(part for part in (agent.family, agent.major) if part) if agent and agent.family != "Other" else "Unknown browser"
    system = parsed.os.family if parsed.os and parsed.os.family != "Other" else ""
    return f"{name} on {system}" if system else name


def sessions_of(person, *, current_session_key: str) -> list[SessionRow]:
    """The person's open sessions, the one asking first, then the most recent sign-in first."""
    current = session_key_digest(current_session_key) if current_session_key else None
    rows = [
        SessionRow(
            reference=session_reference(s.session_key), browser=browser_name(s.client), client=s.client, address=s.address,
            signed_in_at=s.signed_in_at, expires_at=s.expire_date, is_current=s.session_key == current,
        )
        for s in open_sessions_of(person).only("session_key", "client", "address", "signed_in_at", "expire_date")
    ]
    return sorted(rows, key=lambda r: (not r.is_current, -(r.signed_in_at.timestamp() if r.signed_in_at else 0)))


def leaked_api_tokens(user) -> QuerySet:
    """Personal API tokens reported leaked (api_token_exposed), newest first: every person's for
    a security admin, else the person's own. An agent's leaks are Exposures (tokens app)."""
    leaked = PersonalAPIToken.objects.filter(revoked_at__isnull=False, revoke_reason__startswith=EXPOSED)
    if not is_security_admin(user):
        leaked = leaked.filter(user=user)
    return leaked.select_related("user").order_by("-revoked_at", "-id")


def reviewers_and_admins() -> list:
    """Active reviewers and security admins (superusers count) with an email address: the
    people notify commands tell about decisions waiting for them."""
    return list(
        get_user_model().objects.filter(is_active=True)
        .filter(Q(groups__name__in=[REVIEWER, SECURITY_ADMIN]) | Q(is_superuser=True))
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def sso_link_of(person):
    """The person's link to the configured identity provider, if they ever signed in through it."""
    return person.sso_links.filter(issuer=settings.SSO["ISSUER"]).first() if settings.SSO["ISSUER"] else None


def directory_entry_of(person):
    """What the directory keeps of the person over SCIM, if it provisioned them."""
    return DirectoryEntry.objects.filter(user=person).first()


def directory_groups_of(person) -> list[str]:
    """The names of the directory's groups the person is in (a deleted group has no members)."""
    return sorted(DirectoryGroup.objects.filter(members=person).values_list("display_name", flat=True))
