"""Single sign-on for people: the portal as an OpenID Connect relying party, and what a
verified sign-in does to the person it names.

Authlib speaks the protocol: discovery, state, nonce, PKCE, the code exchange, and the ID
token's signature (against the provider's published keys), issuer, audience, expiry and
nonce. This module only decides who the verified claims are in the portal.
"""

import re
from functools import lru_cache

from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record, system_actor

from .models import SingleSignOnLink
from .services import roles_held, roles_replace

# How long the portal waits for the provider's discovery, keys and token endpoints.
PROVIDER_TIMEOUT_SECONDS = 10


class SignInRefused(Exception):
    """The provider vouched for this person, but the portal does not let them in. The message
    is shown to them."""


def sso_enabled() -> bool:
    return bool(settings.SSO["ISSUER"] and settings.SSO["CLIENT_ID"])


def provider():
    """The Authlib client for the configured provider."""
    sso = settings.SSO
    return _provider(sso["ISSUER"], sso["CLIENT_ID"], sso["CLIENT_SECRET"], sso["SCOPE"])


@lru_cache(maxsize=4)
def _provider(issuer: str, client_id: str, client_secret: str, scope: str):
    # One client per configuration: Authlib keeps the provider's metadata and keys on it, so
    # they are fetched once, and the keys again only for a key id it has not seen.
    return OAuth().register(
        "provider",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": scope, "code_challenge_method": "S256", "default_timeout": PROVIDER_TIMEOUT_SECONDS},
    )


_ENDPOINTS_NEEDED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


def check_provider_issuer(client) -> None:
    """OpenID Connect Discovery 4.3: the metadata must name the issuer it was fetched for, or
    ID tokens would be checked against an issuer nobody configured; and it must say where to
    send people, exchange codes and find keys."""
    metadata = client.load_server_metadata()
    published = metadata.get("issuer")
    missing = [name for name in _ENDPOINTS_NEEDED if not isinstance(metadata.get(name), str)]
    if isinstance(published, str) and published.rstrip("/") == settings.SSO["ISSUER"] and not missing:
        return
    # Authlib keeps whatever metadata it loaded for the client's lifetime: a document served
    # wrong once (a proxy's page, a provider mid-migration) would refuse every sign-in until a
    # restart. Forgetting the client fetches the metadata again on the next sign-in.
    _provider.cache_clear()
    if missing:
        raise ValueError(f"the provider's metadata has no {', '.join(missing)}")
    raise ValueError(f"the provider's metadata names the issuer {published!r}, not the one configured")


def roles_from_groups(claims: dict) -> set[str] | None:
    """The roles the ID token's groups give, or None when roles are not the provider's to say
    (no mapping configured, or no groups claim in this token: then the portal's stand)."""
    mapping = settings.SSO["ROLE_GROUPS"]
    groups = claims.get(settings.SSO["GROUPS_CLAIM"])
    if not mapping or groups is None:
        return None
    if isinstance(groups, str):
        groups = [groups]
    held = {str(group) for group in groups}
    return {role for role, group in mapping if group in held}


def _profile_from(claims: dict) -> dict:
    """The profile fields the token carries (a field it leaves out is left as it is)."""
    profile = {}
    for field, claim, limit in (("email", "email", 254), ("first_name", "given_name", 150), ("last_name", "family_name", 150)):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            profile[field] = value.strip()[:limit]
    return profile


def _new_username(claims: dict, subject: str) -> str:
    User = get_user_model()
    wanted = claims.get("preferred_username") or (claims.get("email") or "").split("@")[0] or f"sso-{subject}"
    # NFKC first, as Django keeps usernames: a provider's "ｓａｍ" is "sam", taken, so "sam-2".
    base = re.sub(r"[^\w.@+-]", "", User.normalize_username(str(wanted)))[:140] or "person"
    # A name already taken gets a suffix: a provider's username never takes over a portal
    # account (only a verified email links one, see _find_or_create).
    username, n = base, 2
    while User.objects.filter(username__iexact=username).exists():
        username, n = f"{base}-{n}", n + 1
    return username


def _provisioned(subject: str, claims: dict):
    """A person the directory created over SCIM for this sign-in: by the external id it gave
    (Okta sends the subject; Entra ID can send the object id, the `oid` claim), or by the
    userName it set (Entra's UPN, the token's preferred_username). The provider vouched for
    those itself, unlike for an email it may not have verified."""
    ids = {subject, str(claims.get("oid") or subject)}
    directory_people = get_user_model().objects.select_for_update(of=("self",)).filter(
        directory_entry__isnull=False, directory_entry__deleted_at__isnull=True, sso_links__isnull=True,
    )
    by_id = list(directory_people.filter(directory_entry__external_id__in=ids)[:2])
    if len(by_id) == 1:
        return by_id[0]
    username = claims.get("preferred_username")
    by_name = list(directory_people.filter(username__iexact=username)[:2]) if username else []
    return by_name[0] if len(by_name) == 1 else None


def _find_or_create(issuer: str, subject: str, claims: dict):
    """The person for a subject signing in for the first time, and how they were found."""
    User = get_user_model()
    provisioned = _provisioned(subject, claims)
    if provisioned is not None:
        return provisioned, "person.sso_linked"
    email = claims.get("email")
    if email and claims.get("email_verified") is True:
        matches = list(User.objects.select_for_update().filter(email__iexact=email)[:2])
        if len(matches) == 1 and not matches[0].sso_links.filter(issuer=issuer).exists():
            return matches[0], "person.sso_linked"
    if not settings.SSO["CREATE_PEOPLE"]:
        raise SignInRefused("No NHI Portal account matches your sign-in. Ask a security admin to add you.")
    person = User(username=_new_username(claims, subject))
    person.set_unusable_password()  # they sign in through the provider only
    person.save()
    return person, "person.sso_provisioned"


@transaction.atomic
def sso_sign_in(*, issuer: str, claims: dict):
    """The person a verified ID token names: found by their link to the provider, linked by a
    verified email the first time, or created (NHI_SSO_CREATE_PEOPLE). Their roles follow the
    token's groups when a mapping is configured, and their name and email follow the token.
    One audit event when anything changed; a deactivated person is refused and nothing is written."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SignInRefused("The identity provider did not say who you are (no subject). Ask a security admin.")
    link = SingleSignOnLink.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject).first()
    if link is not None:
        person, action = link.user, "person.sso_updated"
    else:
        person, action = _find_or_create(issuer, subject, claims)
        link = SingleSignOnLink.objects.create(user=person, issuer=issuer, subject=subject)
    if not person.is_active:
        raise SignInRefused("Your NHI Portal account is deactivated. Ask a security admin if you need it back.")

    before, after = {}, {}
    roles = roles_from_groups(claims)
    if roles is None and action == "person.sso_provisioned":
        roles = set(settings.SSO["NEW_PERSON_ROLES"])
    if roles is not None and set(roles_held(person)) != roles:
        before["roles"], after["roles"] = roles_held(person), sorted(roles)
        roles_replace(person, roles)
    changed = [field for field, value in _profile_from(claims).items() if getattr(person, field) != value]
    for field in changed:
        before[field], after[field] = getattr(person, field), _profile_from(claims)[field]
        setattr(person, field, after[field])
    if changed:
        person.save(update_fields=changed)
    link.last_sign_in_at = timezone.now()
    link.save(update_fields=["last_sign_in_at"])

    if action != "person.sso_updated" or after:
        if action == "person.sso_provisioned":
            before = {}
        audit_record(
            actor=system_actor("sso"), action=action, obj=person, object_repr=person.get_username(),
            before=before, after={**after, "issuer": issuer, "subject": subject},
            reason=f"signed in through {settings.SSO['NAME']}",
        )
    return person
