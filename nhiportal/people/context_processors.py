from django.conf import settings

from .roles import ROLE_LABELS, roles_of, sees_everything


def roles(request):
    user = getattr(request, "user", None)
    user_roles = roles_of(user)
    return {
        "user_roles": user_roles,
        "user_role_labels": [ROLE_LABELS[r] for r in ROLE_LABELS if r in user_roles],
        # Pages open to those who read the whole inventory (compliance evidence, the audit log).
        "reads_everything": sees_everything(user),
        # People who sign in through SSO only have no password to change.
        "password_sign_in": settings.PASSWORD_SIGN_IN,
    }
