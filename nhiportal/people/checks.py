"""Configuration mistakes in sign-in, reported by `manage.py check` (and at every start) rather
than found by the first person locked out."""

from django.conf import settings
from django.core.checks import Error, register

from .roles import ALL_ROLES


@register()
def sign_in_settings(app_configs=None, **kwargs):
    sso = settings.SSO
    errors = []
    if sso["ISSUER"] and not (sso["CLIENT_ID"] and sso["CLIENT_SECRET"]):
        errors.append(Error(
            "NHI_SSO_ISSUER is set without NHI_SSO_CLIENT_ID and NHI_SSO_CLIENT_SECRET.",
            hint="Register the portal as a confidential client at the provider and set both.", id="people.E001",
        ))
    if not settings.PASSWORD_SIGN_IN and not (sso["ISSUER"] and sso["CLIENT_ID"]):
        errors.append(Error(
            "NHI_PASSWORD_SIGN_IN is off and single sign-on is not configured: nobody could sign in.",
            hint="Set NHI_SSO_ISSUER, NHI_SSO_CLIENT_ID and NHI_SSO_CLIENT_SECRET, or turn passwords back on.", id="people.E002",
        ))
    for role, group in sso["ROLE_GROUPS"]:
        if role not in ALL_ROLES or not group:
            errors.append(Error(
                f"NHI_SSO_ROLE_GROUPS: {role}={group} is not a role and a group.",
                hint=f"Write role=group pairs separated by commas; the roles are {', '.join(ALL_ROLES)}.", id="people.E003",
            ))
    for role in sso["NEW_PERSON_ROLES"]:
        if role not in ALL_ROLES:
            errors.append(Error(
                f"NHI_SSO_NEW_PERSON_ROLES names {role!r}, which is not a role.",
                hint=f"The roles are {', '.join(ALL_ROLES)}.", id="people.E004",
            ))
    for role in settings.MFA_REQUIRED_ROLES:
        if role not in ALL_ROLES:
            errors.append(Error(
                f"NHI_MFA_REQUIRED_ROLES names {role!r}, which is not a role.",
                hint=f"The roles are {', '.join(ALL_ROLES)}.", id="people.E005",
            ))
    return errors
