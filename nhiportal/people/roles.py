"""The four roles, as Django groups, and what each may see at a glance."""

OWNER = "owner"
REVIEWER = "reviewer"
COMPLIANCE = "compliance"
SECURITY_ADMIN = "security_admin"
ALL_ROLES = [OWNER, REVIEWER, COMPLIANCE, SECURITY_ADMIN]
ROLE_LABELS = {
    OWNER: "Owner",
    REVIEWER: "Reviewer",
    COMPLIANCE: "Compliance",
    SECURITY_ADMIN: "Security admin",
}


def roles_of(user) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_nhi_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {SECURITY_ADMIN}
        user._nhi_roles = cached
    return cached


def is_security_admin(user) -> bool:
    return SECURITY_ADMIN in roles_of(user)


def is_reviewer(user) -> bool:
    return REVIEWER in roles_of(user)


def sees_everything(user) -> bool:
    """Reviewers, compliance and security admins read the whole inventory."""
    return bool(roles_of(user) & {REVIEWER, COMPLIANCE, SECURITY_ADMIN})
