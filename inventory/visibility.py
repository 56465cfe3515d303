"""The one gate: which identities a person may see or change. Pages and API both call it.

- security admins (and superusers) see and change everything;
- reviewers and compliance see everything, read-only;
- everyone else sees and changes the identities they own, through django-guardian
  object permissions granted when they become an owner;
- reviewers and security admins APPROVE (decide a person's approval of an agent's task) for
  identities they do not own: the owner sponsors the agent, so a second person decides.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet

from nhiportal.people.roles import is_reviewer, is_security_admin, sees_everything

from .models import AIIdentity, IdentityGroupObjectPermission, IdentityUserObjectPermission, Ownership

VIEW = "view"
CHANGE = "change"
APPROVE = "approve"
_PERMS = {VIEW: "inventory.view_aiidentity", CHANGE: "inventory.change_aiidentity"}


def _decides_approvals(user) -> bool:
    return is_security_admin(user) or is_reviewer(user)


def restrict(queryset: QuerySet, user, action: str = VIEW) -> QuerySet:
    """Narrow a queryset of identities to those the user may VIEW or CHANGE."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if action == APPROVE:
        return queryset.exclude(ownerships__person=user) if _decides_approvals(user) else queryset.none()
    if is_security_admin(user):
        return queryset
    if action == VIEW and sees_everything(user):
        return queryset
    return queryset.filter(
        Q(pk__in=_object_perm_ids(user, action)) | Q(pk__in=_object_perm_ids(user, action, groups=True))
    )


def _object_perm_ids(user, action: str, *, groups: bool = False) -> QuerySet:
    """Identity ids the user (or one of their groups) holds the object permission on.

    The same rows guardian's get_objects_for_user reads, queried directly: guardian's generic
    query casts the key (REPLACE on SQLite) and re-checks the ids against the whole identity
    table, which made an owner's list page several times slower at 50,000 identities.
    """
    if groups:
        model, who = IdentityGroupObjectPermission, {"group__user": user}
    else:
        model, who = IdentityUserObjectPermission, {"user": user}
    return model.objects.filter(
        **who,
        permission__content_type=ContentType.objects.get_for_model(AIIdentity),
        permission__codename=_PERMS[action].split(".")[1],
    ).values("content_object_id")


def restrict_by_identity(queryset: QuerySet, user, action: str = VIEW, field: str = "identity") -> QuerySet:
    """Narrow rows that belong to an identity (`field` names the foreign key) to those whose
    identity the user may VIEW, CHANGE or APPROVE.

    Written per row rather than as `identity IN (the identities the user may ...)`: for people
    who see everything that list is the whole inventory, which SQLite would build for every
    query (tens of milliseconds at 50,000 identities).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if action == APPROVE:
        return queryset.exclude(**{f"{field}__ownerships__person": user}) if _decides_approvals(user) else queryset.none()
    if is_security_admin(user) or (action == VIEW and sees_everything(user)):
        return queryset
    return queryset.filter(**{f"{field}__in": restrict(AIIdentity.objects.all(), user, action)})


def can(user, action: str, identity: AIIdentity) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if action == APPROVE:
        return _decides_approvals(user) and not Ownership.objects.filter(identity_id=identity.pk, person=user).exists()
    if is_security_admin(user):
        return True
    if action == VIEW and sees_everything(user):
        return True
    return user.has_perm(_PERMS[action], identity)
