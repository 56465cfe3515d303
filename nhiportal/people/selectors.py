"""Reads for people: their personal API tokens, and who can be mailed about decisions."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from .models import EXPOSED, DirectoryEntry, DirectoryGroup, PersonalAPIToken
from .roles import REVIEWER, SECURITY_ADMIN, is_security_admin


def api_tokens_of(user) -> QuerySet:
    """A person's own tokens, newest first. Nobody else's: other people's tokens are a 404."""
    return PersonalAPIToken.objects.filter(user=user).order_by("-created_at", "-id")


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
