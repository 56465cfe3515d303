"""Writes the organisation's directory makes over SCIM: it creates people, keeps their names
and emails, and deactivates those who leave, so a leaver's identities are orphaned (and their
access suspended after the grace period) the day the directory says so.

Each request is one transaction. The security admin whose directory sync token the provider
holds is the actor, and the token's name is in each event's reason.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record

from .directory_roles import directory_roles_follow
from .models import DirectoryEntry
from .roles import SECURITY_ADMIN
from .selectors import deactivated_in_the_portal
from .services import lock_person, person_deactivate, person_reactivate, roles_held, roles_replace

PROFILE_FIELDS = ("username", "email", "first_name", "last_name")


class UsernameTaken(Exception):
    """Another person has this userName (SCIM answers 409, uniqueness)."""


def sync_reason(token) -> str:
    return f"directory sync (token {token.name!r})"


def _check_username(username: str, person=None) -> str:
    """The userName as it is stored (NFKC, as Django keeps usernames), refused if another person
    has it in any case: compared raw, "ＡＬＩＣＥ" passed as new and became a second "ALICE"."""
    username = get_user_model().normalize_username(username)
    if not username:
        raise ValidationError({"userName": "userName is required."})
    longest = get_user_model()._meta.get_field("username").max_length
    if len(username) > longest:  # checked before the lookup below, which SQLite refuses past 50,000 bytes
        raise ValidationError({"userName": f"userName is at most {longest} characters."})
    others = get_user_model().objects.filter(username__iexact=username)
    if person is not None:
        others = others.exclude(pk=person.pk)
    if others.exists():
        raise UsernameTaken(f"Another person already has the userName {username!r}.")
    return username


def _check_external_id(external_id: str) -> None:
    longest = DirectoryEntry._meta.get_field("external_id").max_length
    if len(external_id or "") > longest:
        raise ValidationError({"externalId": f"externalId is at most {longest} characters."})


def _validated(person) -> None:
    try:
        person.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        raise ValidationError({("userName" if k == "username" else k): v for k, v in exc.message_dict.items()}) from exc


@transaction.atomic
def directory_person_create(*, token, fields: dict):
    """A person the directory assigned to the portal. They sign in through single sign-on (no
    password); their roles come from their groups at sign-in when a mapping is configured, or
    else start as NHI_SSO_NEW_PERSON_ROLES."""
    fields = {**fields, "username": _check_username(fields["username"])}
    _check_external_id(fields["external_id"])
    person = get_user_model()(**{f: fields[f] for f in PROFILE_FIELDS}, is_active=fields["active"] is not False)
    person.set_unusable_password()
    _validated(person)
    person.save()
    DirectoryEntry.objects.create(user=person, external_id=fields["external_id"])
    roles = set() if settings.SSO["ROLE_GROUPS"] else set(settings.SSO["NEW_PERSON_ROLES"])
    roles_replace(person, roles)
    audit_record(
        actor=token.user, action="person.directory_created", obj=person, object_repr=person.get_username(),
        after={**{f: fields[f] for f in (*PROFILE_FIELDS, "external_id")}, "active": person.is_active, "roles": roles_held(person)},
        reason=sync_reason(token),
    )
    return person


def _set_active(*, token, person, active: bool | None) -> None:
    if active is False and person.is_active:
        if person.is_superuser:
            # A directory (or a stolen sync token) must not lock the portal's own administrators out.
            raise ValidationError({"active": "A superuser is deactivated in the portal, not by the directory."})
        person_deactivate(person=person, actor=token.user, reason=sync_reason(token), by_directory=True)
    elif active is True and not person.is_active:
        if deactivated_in_the_portal(person):
            # A security admin shut them out (a stolen laptop, an investigation): the next sync
            # of a directory that still lists them active must not let them back in.
            raise ValidationError({"active": "A security admin deactivated this person in the portal: they are reactivated there, not by the directory."})
        person_reactivate(person=person, actor=token.user, reason=sync_reason(token))


def _refuse_joining_an_administrator(person, joined: bool) -> None:
    """A directory (or a stolen sync token) must not take over the portal's administrators, nor
    lock them out. Single sign-on links a first sign-in to the directory's person by the
    external id, userName or email the directory set (single_sign_on._provisioned, and a
    verified email), so setting those on an administrator would hand their account to whoever
    holds that account at the provider. A security admin or superuser the portal made stays the
    portal's: the directory cannot join them (deactivated ones included). One whose role comes
    from a directory group mapped to it (NHI_SSO_ROLE_GROUPS) is the directory's already."""
    if joined and an_administrator_the_portal_made(person):
        raise ValidationError({"id": "This person is a superuser or security admin the portal made: they are managed in the portal, not by the directory."})


def an_administrator_the_portal_made(person) -> bool:
    if person.is_superuser:
        return True
    if not person.groups.filter(name=SECURITY_ADMIN).exists():
        return False
    mapped = [group for role, group in settings.SSO["ROLE_GROUPS"] if role == SECURITY_ADMIN]
    return not person.directory_groups.filter(display_name__in=mapped).exists()


def _keep_superusers_names(person, entry, fields: dict) -> None:
    """A superuser's sign-in names are the portal's to change, whoever made them (see above)."""
    if not person.is_superuser:
        return
    for field, attribute in (("username", "userName"), ("email", "emails")):
        if fields[field] != getattr(person, field):
            raise ValidationError({attribute: "A superuser's sign-in names are changed in the portal, not by the directory."})
    if entry.external_id != fields["external_id"]:
        raise ValidationError({"externalId": "A superuser's sign-in names are changed in the portal, not by the directory."})


@transaction.atomic
def directory_person_update(*, token, person, fields: dict):
    """Bring a person in line with the directory (PUT, or the result of a PATCH): profile and
    external id in one audit event, then deactivation or reactivation through the people
    services (a deactivation revokes their API tokens, as a security admin's does)."""
    fields = {**fields, "username": get_user_model().normalize_username(fields["username"])}
    _check_external_id(fields["external_id"])
    person = lock_person(person)
    entry, joined = DirectoryEntry.objects.get_or_create(user=person)
    _refuse_joining_an_administrator(person, joined)
    _keep_superusers_names(person, entry, fields)
    if fields["username"] != person.username:
        _check_username(fields["username"], person)
    before, after = {}, {}
    for field in PROFILE_FIELDS:
        if getattr(person, field) != fields[field]:
            before[field], after[field] = getattr(person, field), fields[field]
            setattr(person, field, fields[field])
    if joined or entry.external_id != fields["external_id"]:
        # A person the portal made joins the directory here, even with no external id: that
        # changes how single sign-on finds them (single_sign_on._provisioned), so it is recorded.
        before["external_id"], after["external_id"] = None if joined else entry.external_id, fields["external_id"]
        entry.external_id = fields["external_id"]
        entry.save(update_fields=["external_id"])
    if set(after) & set(PROFILE_FIELDS):
        _validated(person)
        person.save(update_fields=sorted(set(after) & set(PROFILE_FIELDS)))
    if after:
        audit_record(
            actor=token.user, action="person.directory_updated", obj=person, object_repr=person.get_username(),
            before=before, after=after, reason=sync_reason(token),
        )
    _set_active(token=token, person=person, active=fields["active"])
    person.refresh_from_db()
    return person


@transaction.atomic
def directory_person_delete(*, token, person) -> None:
    """The directory deleted the person: they are deactivated, SCIM no longer shows them, and
    they leave the directory's groups (no Group lists a User SCIM answers 404 for), with the
    roles those gave. The person stays in the portal, with what they owned and their history."""
    person = lock_person(person)
    entry, joined = DirectoryEntry.objects.get_or_create(user=person)
    _refuse_joining_an_administrator(person, joined)
    _set_active(token=token, person=person, active=False)
    entry.deleted_at = timezone.now()
    entry.save(update_fields=["deleted_at"])
    groups = sorted(person.directory_groups.values_list("display_name", flat=True))
    person.directory_groups.clear()
    audit_record(
        actor=token.user, action="person.directory_deleted", obj=person, object_repr=person.get_username(),
        after={"deleted_at": entry.deleted_at.isoformat(), **({"directory_groups_left": groups} if groups else {})},
        reason=sync_reason(token),
    )
    if groups:
        directory_roles_follow(people=[person], actor=token.user, reason=sync_reason(token))
