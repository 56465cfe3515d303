"""Writes the organisation's directory makes to its groups over SCIM (Okta's Push Groups, Entra
ID's group provisioning): it creates, renames and deletes them and sets who is in them. Where
NHI_SSO_ROLE_GROUPS maps a group to a role, each change gives the people it touches the roles
their groups map to (directory_roles.py).

Each request is one transaction: one audit event for the group (group.directory_created,
group.directory_updated, group.directory_deleted), and one person.directory_updated for each
person whose roles change. The security admin whose directory sync token the provider holds is
the actor, and the token's name is in each reason, as for people.
"""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record

from .directory_roles import directory_roles_follow
from .directory_sync import an_administrator_the_portal_made, sync_reason
from .models import DirectoryEntry, DirectoryGroup
from .roles import SECURITY_ADMIN
from .scim import user_pk


class DisplayNameTaken(Exception):
    """Another live group has this displayName (SCIM answers 409, uniqueness)."""


def _check_display_name(name: str, group=None) -> None:
    longest = DirectoryGroup._meta.get_field("display_name").max_length
    if len(name) > longest:  # checked before the lookup below, which SQLite refuses past 50,000 bytes
        raise ValidationError({"displayName": f"displayName is at most {longest} characters."})
    others = DirectoryGroup.objects.filter(deleted_at__isnull=True, display_name__iexact=name)
    if group is not None:
        others = others.exclude(pk=group.pk)
    if others.exists():
        raise DisplayNameTaken(f"Another group already has the displayName {name!r}.")


def _save(group, **kwargs) -> None:
    try:
        group.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationError({("displayName" if k == "display_name" else k): v for k, v in exc.message_dict.items()}) from exc
    try:
        with transaction.atomic():
            group.save(**kwargs)
    except IntegrityError as exc:
        # Two requests naming a group alike at once: the constraint lets one through.
        raise DisplayNameTaken(f"Another group already has the displayName {group.display_name!r}.") from exc


def _ids(values: list[str]) -> set[int]:
    """The person ids member values name (SCIM User ids); a value that cannot be one is an error."""
    unknown = sorted({value for value in values if user_pk(value) is None})
    if unknown:
        raise ValidationError({"members": f"No User {', '.join(unknown)}: a member's value is the id of a User."})
    return {user_pk(value) for value in values}


def _lock(ids) -> list:
    """The people a change touches, locked in one order before any membership changes (a new
    membership takes a key-share lock on its person: taken first, two changes would each wait
    for the other). Two changes touching the same person (two groups' PATCHes at once, or a
    group's and the person's deletion) then run one after the other, each reading what the
    other committed. NO KEY: rows that only refer to the person (a session, a token) are still
    written meanwhile."""
    return list(get_user_model().objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))


def _joining(people, ids: set[int]) -> list:
    """The people joining a group, read once locked. Someone the directory deleted is no User to
    SCIM, so naming them is an error like any unknown id; a deactivated person joins like anyone
    (their roles follow their groups, and give them nothing while inactive)."""
    joining = [person for person in people if person.pk in ids]
    deleted = set(DirectoryEntry.objects.filter(user__in=joining, deleted_at__isnull=False).values_list("user_id", flat=True))
    missing = sorted(ids - {person.pk for person in joining} | deleted)
    if missing:
        raise ValidationError({"members": f"No User {', '.join(map(str, missing))}: a member's value is the id of a User."})
    return joining


def _refuse_administrators_the_portal_made(people) -> None:
    """No group takes in a security admin the portal made: in the directory's security admin
    group their role would read as the directory's, whose sync token could then set the names
    single sign-on links them by (directory_sync._refuse_joining_an_administrator), and any other
    mapped group would take their role. A superuser keeps both whatever the groups say."""
    people = {person.pk: person for person in people}
    # Security admins are few: only they are looked at one by one, however large the group.
    admins = get_user_model().objects.filter(pk__in=people, is_superuser=False, groups__name=SECURITY_ADMIN).values_list("pk", flat=True)
    refused = _names(people[pk] for pk in admins if an_administrator_the_portal_made(people[pk]))
    if refused:
        raise ValidationError({"members": f"{', '.join(refused)}: a security admin the portal made is managed in the portal, not by the directory's groups."})


def _names(people) -> list[str]:
    return sorted(person.get_username() for person in people)


@transaction.atomic
def directory_group_create(*, token, fields: dict) -> DirectoryGroup:
    """A group the directory pushes: its name, its own id for it, and its members."""
    _check_display_name(fields["display_name"])
    ids = _ids(fields["members"])
    members = _joining(_lock(ids), ids)
    _refuse_administrators_the_portal_made(members)
    group = DirectoryGroup(display_name=fields["display_name"], external_id=fields["external_id"])
    _save(group)
    group.members.set(members)
    audit_record(
        actor=token.user, action="group.directory_created", obj=group, object_repr=group.display_name,
        after={"display_name": group.display_name, "external_id": group.external_id, "members": _names(members)},
        reason=sync_reason(token),
    )
    directory_roles_follow(people=members, actor=token.user, reason=sync_reason(token))
    return group


@transaction.atomic
def directory_group_update(*, token, group, wanted: Callable[[DirectoryGroup], dict]) -> DirectoryGroup:
    """Bring a group in line with the directory. `wanted` gives the group's fields from the group
    as it stands once locked (a PUT's body, or the result of a PATCH applied to it): two PATCHes
    adding members at once then each build on the other's, and neither undoes the other."""
    group = DirectoryGroup.objects.select_for_update().get(pk=group.pk, deleted_at__isnull=True)
    seen_ids = set(group.members.values_list("pk", flat=True))
    fields = wanted(group)
    renamed = fields["display_name"] != group.display_name
    if renamed:
        _check_display_name(fields["display_name"], group)
    wanted_ids = _ids(fields["members"])
    current_ids = set(group.members.values_list("pk", flat=True))
    # The group's lock keeps other changes to it out, but not the directory deleting a member,
    # which takes them out of every group (directory_person_delete). One who left so since this
    # change read the group is kept by a PATCH's result as it stood, not asked back in: without
    # this, removing one member while another is deleted answered "No User".
    wanted_ids -= seen_ids - current_ids
    # A new name may map to other roles: then everyone in the group is touched.
    people = _lock((current_ids | wanted_ids) if renamed else (current_ids ^ wanted_ids))
    added = _joining(people, wanted_ids - current_ids)
    removed = [person for person in people if person.pk in current_ids - wanted_ids]
    # Renamed, the group may become the security admin group to those it keeps, too.
    _refuse_administrators_the_portal_made(added + ([p for p in people if p.pk in current_ids & wanted_ids] if renamed else []))
    before, after = {}, {}
    for field in ("display_name", "external_id"):
        if getattr(group, field) != fields[field]:
            before[field], after[field] = getattr(group, field), fields[field]
            setattr(group, field, fields[field])
    if added:
        after["members_added"] = _names(added)
    if removed:
        after["members_removed"] = _names(removed)
    if not after:
        return group
    group.updated_at = timezone.now()
    _save(group, update_fields=["display_name", "external_id", "updated_at"])
    group.members.add(*added)
    group.members.remove(*removed)
    audit_record(
        actor=token.user, action="group.directory_updated", obj=group, object_repr=group.display_name,
        before=before, after=after, reason=sync_reason(token),
    )
    directory_roles_follow(people=people, actor=token.user, reason=sync_reason(token))
    return group


@transaction.atomic
def directory_group_delete(*, token, group) -> None:
    """The directory deleted the group: it loses its members (and they the roles it gave), and
    SCIM no longer shows it. The row stays for the history that names it."""
    group = DirectoryGroup.objects.select_for_update().get(pk=group.pk, deleted_at__isnull=True)
    members = _lock(group.members.values_list("pk", flat=True))
    group.deleted_at = timezone.now()
    group.save(update_fields=["deleted_at"])
    group.members.clear()
    audit_record(
        actor=token.user, action="group.directory_deleted", obj=group, object_repr=group.display_name,
        before={"members": _names(members)}, after={"deleted_at": group.deleted_at.isoformat()}, reason=sync_reason(token),
    )
    directory_roles_follow(people=members, actor=token.user, reason=sync_reason(token))
