"""Reads for the people pages: who is in the portal, what each answers for, who may see or
change that, and what a change to a person revoked. Reviewers, compliance and security admins
read it; security admins act."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from nhiportal.audit.selectors import events_for_object
from nhiportal.people.models import DirectoryEntry, SecondFactor, SingleSignOnLink
from nhiportal.people.roles import ALL_ROLES, REVIEWER, ROLE_LABELS, SECURITY_ADMIN, is_security_admin, sees_everything

from .models import AIIdentity, Ownership, OwnerRole, Status

STATES = ("active", "inactive", "all")


def may_see_people(user) -> bool:
    return sees_everything(user)


def may_manage_people(user) -> bool:
    return is_security_admin(user)


def _in_service(prefix: str = "") -> Q:
    return ~Q(**{f"{prefix}identity__status": Status.OFFBOARDED})


# How people sign in, for the list's filter: through the provider, with an authenticator app,
# or with a password alone (an unusable password, one that starts with "!", is no password).
SIGN_INS = {"sso": "Single sign-on", "second_factor": "Second factor", "password_alone": "Password alone"}


# Not a role of its own: the people whose roles decide access (approve requests, confirm leaks,
# revoke), whom NHIP-21 asks to sign in with two factors. The list's Role filter offers it.
DECIDES_ACCESS = "decides_access"
ROLE_FILTERS = (*ALL_ROLES, DECIDES_ACCESS)


def decides_access_q() -> Q:
    """Reviewers and security admins (a superuser is one). A subquery, not a join on the
    groups: one in both roles would be two rows, and the directory's owned counts doubled."""
    in_either = get_user_model().groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=[REVIEWER, SECURITY_ADMIN])
    return Q(Exists(in_either)) | Q(is_superuser=True)


def owns_in_service_q() -> Q:
    """An owner, primary or backup, of an identity in service (NHIP-20 counts the active ones)."""
    return Q(Exists(Ownership.objects.filter(person=OuterRef("pk")).exclude(identity__status=Status.OFFBOARDED)))


def kept_by_directory_q(person_ref) -> Q:
    """The person is the organisation directory's to end: linked through single sign-on, or
    provisioned over SCIM and not deleted there."""
    return Exists(SingleSignOnLink.objects.filter(user=person_ref)) | Exists(
        DirectoryEntry.objects.filter(user=person_ref, deleted_at__isnull=True)
    )


# Yes/no filters of the list (as the inventory's): any other value matches nobody, so a
# mistyped link shows an empty list, not everyone.
YES_NO = {"true": "Yes", "false": "No"}


def _yes_no(people: QuerySet, value: str, q: Q) -> QuerySet:
    if not value:
        return people
    if value not in YES_NO:
        return people.none()
    return people.filter(q) if value == "true" else people.exclude(q)


def directory(*, q: str = "", role: str = "", state: str = "active", sign_in: str = "", owns: str = "", kept: str = "") -> QuerySet:
    """People by username, with how many identities in service each owns (as primary, as backup)
    and how they sign in. `owns`, `kept` (yes/no): owns identities in service; is kept by the
    organisation's directory."""
    people = get_user_model().objects.annotate(
        primary_count=Count("ownerships", filter=Q(ownerships__role=OwnerRole.PRIMARY) & _in_service("ownerships__")),
        backup_count=Count("ownerships", filter=Q(ownerships__role=OwnerRole.BACKUP) & _in_service("ownerships__")),
        uses_sso=Exists(SingleSignOnLink.objects.filter(user=OuterRef("pk"))),
        has_second_factor=Exists(SecondFactor.objects.filter(user=OuterRef("pk"))),
    ).prefetch_related("groups").order_by("username")
    if sign_in == "sso":
        people = people.filter(uses_sso=True)
    elif sign_in == "second_factor":
        people = people.filter(has_second_factor=True)
    elif sign_in == "password_alone":
        people = people.exclude(password__startswith="!").filter(has_second_factor=False)
    people = _yes_no(people, owns, owns_in_service_q())
    people = _yes_no(people, kept, kept_by_directory_q(OuterRef("pk")))
    if state == "active":
        people = people.filter(is_active=True)
    elif state == "inactive":
        people = people.filter(is_active=False)
    for term in q.split()[:4]:
        people = people.filter(
            Q(username__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
        )
    if role == SECURITY_ADMIN:
        people = people.filter(Q(groups__name=role) | Q(is_superuser=True)).distinct()
    elif role == DECIDES_ACCESS:
        people = people.filter(decides_access_q())
    elif role in ALL_ROLES:
        people = people.filter(groups__name=role)
    return people


def leavers_still_owning() -> QuerySet:
    """Inactive people still named as owners of identities in service: each such identity has
    lost an owner, and orphaned ones have lost all (hand them over)."""
    return get_user_model().objects.filter(is_active=False).filter(owns_in_service_q())


def role_names(person) -> list[str]:
    """The person's roles as the gate reads them (a superuser is a security admin), even while
    inactive, when the gate grants nothing; in the usual order."""
    names = {g.name for g in person.groups.all()} & set(ALL_ROLES)
    if person.is_superuser:
        names.add(SECURITY_ADMIN)
    return [name for name in ALL_ROLES if name in names]


def roles_shown(person) -> list[str]:
    return [ROLE_LABELS[name] for name in role_names(person)]


def owned_identities(person) -> QuerySet:
    """The identities in service this person owns, with their role and whether anyone else
    active owns each (else it is orphaned when they leave), by name."""
    mine = Ownership.objects.filter(identity=OuterRef("pk"), person=person)
    others_active = Ownership.objects.filter(identity=OuterRef("pk"), person__is_active=True).exclude(person=person)
    return (
        AIIdentity.objects.filter(ownerships__person=person).exclude(status=Status.OFFBOARDED)
        .annotate(
            my_role=Subquery(mine.values("role")[:1]),
            others_active=Exists(others_active),
        )
        .order_by("name")
    )


# The audit actions of nhiportal/people's writes that revoke a person's API tokens, and count them.
SESSIONS_ENDED, DEACTIVATED = "person.sessions_ended", "person.deactivate"


@transaction.atomic
def with_api_tokens_revoked(write, *, person, action: str) -> tuple:
    """(what write() answered, how many of the person's API tokens it revoked), for the pages
    and the API to say. Ending sessions and deactivating revoke API tokens (nhiportal/people)
    and count them only in their one audit event, `action`; read in the same transaction, the
    person's latest event is the one just written, as appends to the audit chain wait for its
    head. A write that did nothing (no session to end) writes no event, and revoked nothing."""
    done = write()
    latest = events_for_object(person, limit=1) if done else []
    if not latest or latest[0].action != action:
        return done, 0
    return done, (latest[0].after or {}).get("api_tokens_revoked", 0)
