"""Who may read and change policies and decisions. Pages and API both ask here.

- security admins change policies (new version, activation, mode);
- reviewers, compliance and security admins read every version and every decision;
- owners read the active version, and the decisions about identities they can see;
- a person with no role sees nothing here (403).
"""

from django.core.exceptions import PermissionDenied

from nhiportal.people.roles import is_security_admin, roles_of, sees_everything


def can_read_policies(user) -> bool:
    return bool(roles_of(user))


def reads_every_version(user) -> bool:
    return sees_everything(user)


def can_change_policies(user) -> bool:
    return is_security_admin(user)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied
