"""The one gate: which identities a person may see or change. Pages and API both call it.

- security admins (and superusers) see and change everything;
- reviewers and compliance see everything, read-only;
- everyone else sees and changes the identities they own, through django-guardian
  object permissions granted when they become an owner.
"""

from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from nhiportal.people.roles import is_security_admin, sees_everything

from .models import AIIdentity

VIEW = "view"
CHANGE = "change"
_PERMS = {VIEW: "inventory.view_aiidentity", CHANGE: "inventory.change_aiidentity"}


def restrict(queryset: QuerySet, user, action: str = VIEW) -> QuerySet:
    """Narrow a queryset of identities to those the user may VIEW or CHANGE."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if is_security_admin(user):
        return queryset
    if action == VIEW and sees_everything(user):
        return queryset
    return get_objects_for_user(
        user, _PERMS[action], klass=queryset, accept_global_perms=False, with_superuser=False
    )


def can(user, action: str, identity: AIIdentity) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_security_admin(user):
        return True
    if action == VIEW and sees_everything(user):
        return True
    return user.has_perm(_PERMS[action], identity)
