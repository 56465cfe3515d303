"""Portal roles that follow the directory's groups.

NHI_SSO_ROLE_GROUPS (`role=group` pairs) is the one mapping: single sign-on reads it against the
ID token's groups claim at each sign-in, and the directory's SCIM groups against it whenever a
membership changes. A group's displayName matches a mapped group exactly, as the claim's names
do. With no mapping, the directory's groups are kept and shown but roles stay the portal's.
"""

from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model

from nhiportal.audit.services import audit_record

from .models import DirectoryGroup
from .services import roles_held, roles_replace


def directory_roles_follow(*, people, actor, reason: str) -> None:
    """Give each of these people the roles their directory groups map to, after a change of
    membership, of a group's name or a group's deletion; one person.directory_updated event
    for each person whose roles change. Must run inside the caller's transaction, after the
    change. A superuser stays a security admin whatever the groups say (roles_of)."""
    if not settings.SSO["ROLE_GROUPS"]:
        return
    # Locked (the callers have locked them already, before changing memberships: see
    # directory_groups._lock), so each reads the memberships any other change committed.
    locked = list(get_user_model().objects.select_for_update(no_key=True).filter(pk__in={p.pk for p in people}).order_by("pk"))
    groups_of = defaultdict(set)
    memberships = DirectoryGroup.members.through.objects.filter(user__in=locked)
    for person_id, name in memberships.values_list("user_id", "directorygroup__display_name"):
        groups_of[person_id].add(name)
    for person in locked:
        roles = {role for role, group in settings.SSO["ROLE_GROUPS"] if group in groups_of[person.pk]}
        before = roles_held(person)
        if set(before) == roles:
            continue
        roles_replace(person, roles)
        audit_record(
            actor=actor, action="person.directory_updated", obj=person, object_repr=person.get_username(),
            before={"roles": before}, after={"roles": sorted(roles)}, reason=reason,
        )
