"""Who may be made an owner of an identity, and whom an owner asks for what only a security
admin changes. Reads only.

Owning an identity is a right to change it (inventory/visibility.py: owners see and change
what they own, attest it, ask for its access). So only people whose role is to answer for
identities are picked as its owners: those with the owner role, and security admins. A
reviewer or compliance person made an owner would gain those powers past their role: a
read-only auditor could suspend, offboard or attest. The write services refuse such a person
(inventory/services.py: registering, changing owners, and so a handover or an approved claim),
so every path obeys it; the pages and the API show the refusal next to the field, naming their
role, and offer only people who may own.

People already owners stay as they are when the owners are saved again (a current owner is
not "picked"): a person whose role changed since keeps their place until someone removes
them, rather than blocking every other change of owners.
"""

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from nhiportal.people.roles import ALL_ROLES, OWNER, ROLE_LABELS, SECURITY_ADMIN

from .models import OwnerRole
from .people import may_see_people

OWNING_ROLES = (OWNER, SECURITY_ADMIN)
ASK_FOR_THE_ROLE = "A security admin gives people the owner role on their page under People."
# Whom an owner is shown to ask, at most.
SECURITY_ADMINS_NAMED = 3


def _in_group(names) -> Exists:
    User = get_user_model()
    return Exists(User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=names))


def may_own_q() -> Q:
    """People with the owner or security admin role (a superuser is a security admin)."""
    return Q(_in_group(OWNING_ROLES)) | Q(is_superuser=True)


def people_who_may_own() -> QuerySet:
    """Active people who may be picked as an owner, by username."""
    return get_user_model().objects.filter(is_active=True).filter(may_own_q()).order_by("username")


def may_own(person) -> bool:
    """Whether this person may be picked as an owner (active or not: the caller checks that)."""
    if person.is_superuser:
        return True
    return person.groups.filter(name__in=OWNING_ROLES).exists()


def role_phrase(person) -> str:
    """"the compliance role", "the reviewer and compliance roles", "no role"."""
    names = [ROLE_LABELS[n].lower() for n in ALL_ROLES if n in set(person.groups.values_list("name", flat=True))]
    if not names:
        return "no role"
    if len(names) == 1:
        return f"the {names[0]} role"
    return f"the {', '.join(names[:-1])} and {names[-1]} roles"


def cannot_own(person) -> str:
    """Why this person may not be picked as an owner: shown next to the field, and the API's 400."""
    return (
        f"{person.get_username()} has {role_phrase(person)}, and only people with the owner or security admin role "
        f"can own an identity (owners change, suspend, offboard and attest it). {ASK_FOR_THE_ROLE}"
    )


def refusals(people) -> list[str]:
    """cannot_own for each of these people who may not own, in the order given."""
    return [cannot_own(p) for p in people if not may_own(p)]


def owners_refused(wanted, current_roles: dict) -> dict[str, list[str]]:
    """Why each person picked anew may not own, keyed by the field that names them. `wanted`:
    (person, role) pairs; `current_roles`: each current owner's role by person id. Picked anew:
    not an owner yet, or made primary (a backup moved up is given more to answer for)."""
    refused = {}
    for person, role in wanted:
        held = current_roles.get(person.pk)
        picked = held is None or (role == OwnerRole.PRIMARY and held != OwnerRole.PRIMARY)
        if picked and not may_own(person):
            field = "primary_owner" if role == OwnerRole.PRIMARY else "backup_owners"
            refused.setdefault(field, []).append(cannot_own(person))
    return refused


def security_admins() -> QuerySet:
    """Active security admins, by username: whom to ask for what only they change."""
    return (
        get_user_model().objects.filter(is_active=True)
        .filter(Q(_in_group([SECURITY_ADMIN])) | Q(is_superuser=True)).order_by("username")
    )


def ask_a_security_admin(viewer, *, to: str) -> str:
    """"To {to}, ask a security admin: …", as HTML: the security admins by name, each a mail
    link where they have an address (an owner cannot open the people pages), and for those who
    can, a link to the list of them."""
    admins = list(security_admins()[: SECURITY_ADMINS_NAMED + 1])
    shown = admins[:SECURITY_ADMINS_NAMED]
    if not shown:
        return format_html("To {}, ask your security team: the portal has no active security admin.", to)
    names = format_html_join(
        ", ", "{}",
        (
            (format_html('<a href="mailto:{}">{}</a>', p.email, p.get_full_name() or p.get_username()) if p.email
             else (p.get_full_name() or p.get_username()),)
            for p in shown
        ),
    )
    more = ""
    if may_see_people(viewer):
        more = format_html(' (<a href="{}?role={}">all security admins</a>)', reverse("inventory:person-list"), SECURITY_ADMIN)
    elif len(admins) > len(shown):
        more = " or another security admin"
    return format_html("To {}, ask a security admin: {}{}.", to, names, more)
