"""Writes for people: personal API tokens, roles, and leaving (deactivation)."""

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.names import refuse_unseen

from .ending_sessions import ENDED_BY_PASSWORD_CHANGE, end_sessions_and_their_tokens, end_sessions_of, open_sessions_of
from .models import EXPOSED, TOKEN_PREFIX, PersonalAPIToken, PortalSession, TokenPurpose, hash_api_token, session_fingerprint
from .roles import ALL_ROLES, is_security_admin


MAX_TOKEN_DAYS = 365


@transaction.atomic
def api_token_create(
    *, user, name: str, days: int, actor=None, purpose: str = TokenPurpose.API, made_with_second_factor: bool = False,
    session_key: str | None = None,
) -> tuple[PersonalAPIToken, str]:
    """Create a token for user; return it and the raw value, which is never stored.
    `made_with_second_factor`: the session that asks passed one (see PersonalAPIToken).
    `session_key`: the id of the browser session that asks (from its cookie); the token keeps a
    fingerprint of it and is revoked when that session is ended (ending_sessions.py)."""
    refuse_unseen("name", name)
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationError({"days": f"Choose between 1 and {MAX_TOKEN_DAYS} days."})
    if purpose == TokenPurpose.DIRECTORY_SYNC and not is_security_admin(user):
        raise ValidationError({"purpose": "Only a security admin holds a directory sync token: it creates and deactivates people."})
    if session_key is not None:
        # Held until the token is committed: ending the session meanwhile waits, then revokes it.
        if not list(PortalSession.objects.select_for_update().filter(session_key=session_key, user=user).values_list("pk", flat=True)[:1]):
            raise ValidationError("This browser's session has ended: sign in again to make a token.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalAPIToken(
        user=user,
        name=name,
        purpose=purpose,
        hint=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_api_token(raw),
        expires_at=timezone.now() + timedelta(days=days),
        made_with_second_factor=made_with_second_factor,
        made_in_session=session_fingerprint(session_key) if session_key is not None else "",
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=actor or user,
        action="api_token.create",
        obj=token,
        after={
            "user": user.get_username(), "name": name, "purpose": purpose, "expires_at": token.expires_at.isoformat(),
            "made_with_second_factor": made_with_second_factor,
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: PersonalAPIToken, actor) -> PersonalAPIToken:
    token = PersonalAPIToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoke", obj=token, after={"revoked_at": token.revoked_at.isoformat()})
    return token


@transaction.atomic
def api_token_exposed(*, actor, raw: str, where: str) -> PersonalAPIToken | None:
    """Someone found this personal API token where it does not belong: revoke it at once
    (whoever found it need not own it, as for a leaked access token). None if the portal
    never issued it. One `api_token.exposed` event, naming where, never the token."""
    token = PersonalAPIToken.objects.select_for_update().select_related("user").filter(token_hash=hash_api_token(raw.strip())).first()
    if token is None:
        return None
    token.was_live = token.revoked_at is None and not token.is_expired
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoke_reason = f"{EXPOSED}{where}"[:200]
        token.save(update_fields=["revoked_at", "revoke_reason"])
    audit_record(
        actor=actor, action="api_token.exposed", obj=token, object_repr=f"{token} of {token.user.get_username()}"[:200],
        after={"user": token.user.get_username(), "name": token.name, "was_live": token.was_live, "where_found": where[:200]},
    )
    return token


def exposed_tokens_notify(*, actor) -> dict:
    """Email the holder of each personal API token reported leaked (api_token_exposed), once:
    where it was found, that it no longer works, and to keep the next one out of logs.
    Claimed (holder_told_at) before sending; withdrawn if the mail server refuses."""
    with transaction.atomic():
        tokens = list(
            PersonalAPIToken.objects.select_for_update(of=("self",)).select_related("user")
            .filter(revoked_at__isnull=False, revoke_reason__startswith=EXPOSED, holder_told_at__isnull=True)
            .exclude(user__email="").order_by("revoked_at")
        )
        if not tokens:
            return {"tokens": 0}
        PersonalAPIToken.objects.filter(pk__in=[t.pk for t in tokens]).update(holder_told_at=timezone.now())
        for token in tokens:
            audit_record(actor=actor, action="api_token.holder_told", obj=token, after={"user": token.user.get_username()})
    base_url = nhi_setting("ISSUER").rstrip("/")
    messages = [
        EmailMessage(
            subject=f"[NHI Portal] Your API token “{token.name}” leaked and was revoked",
            body="\n".join([
                f"Your API token “{token.name}” ({token.hint}…) was found where it does not belong:",
                "",
                f"  {token.where_exposed}",
                "",
                f"It was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC and no longer works. Remove it from there,",
                f"create a new one if you still need it, and keep it out of logs and notebooks: {base_url}/accounts/tokens/",
            ]),
            to=[token.user.email],
        )
        for token in tokens
    ]

    def withdraw(error, unsent_tokens):
        PersonalAPIToken.objects.filter(pk__in=[t.pk for t in unsent_tokens]).update(holder_told_at=None)
        audit_record(
            actor=actor, action="api_token.holder_told_failed", object_type="people.personalapitoken", object_id="tokens",
            object_repr="leaked API token notices", after={"tokens": len(unsent_tokens)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=[[token] for token in tokens], claimed=tokens, withdraw=withdraw)
    return {"tokens": len(tokens)}


@transaction.atomic
def role_assign(*, user, role: str, actor) -> None:
    """Put a person in one of the four role groups."""
    from django.contrib.auth.models import Group

    from .roles import ALL_ROLES

    if role not in ALL_ROLES:
        raise ValidationError({"role": f"Unknown role {role!r}; one of {', '.join(ALL_ROLES)}."})
    group, _ = Group.objects.get_or_create(name=role)
    if user.groups.filter(pk=group.pk).exists():
        return
    user.groups.add(group)
    if hasattr(user, "_nhi_roles"):
        del user._nhi_roles
    audit_record(actor=actor, action="person.role_assign", obj=user, object_repr=user.get_username(), after={"role": role})


def lock_person(person):
    return type(person).objects.select_for_update().get(pk=person.pk)


def _not_yourself(person, actor, what: str) -> None:
    # A security admin who locks themselves out, or raises themselves, needs a second person.
    if person.pk == actor.pk:
        raise ValidationError(f"You cannot {what} yourself: ask another security admin.")


def _forget_roles(person) -> None:
    if hasattr(person, "_nhi_roles"):
        del person._nhi_roles


def roles_held(person) -> list[str]:
    """The role groups a person is in (a superuser's implied role not counted), sorted."""
    return sorted(person.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))


def roles_replace(person, roles: set[str]) -> None:
    """Put a person in exactly these role groups. The caller validates and audits."""
    from django.contrib.auth.models import Group

    current = set(roles_held(person))
    person.groups.remove(*Group.objects.filter(name__in=current - roles))
    person.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in sorted(roles - current)))
    _forget_roles(person)


@transaction.atomic
def person_roles_set(*, person, roles, actor):
    """Put a person in exactly these role groups; one audit event (none if nothing changes).
    A superuser is a security admin whatever the groups say, as roles_of reads it."""
    _not_yourself(person, actor, "change the roles of")
    roles = set(roles)
    unknown = roles - set(ALL_ROLES)
    if unknown:
        raise ValidationError({"roles": f"Unknown role {sorted(unknown)[0]!r}; one of {', '.join(ALL_ROLES)}."})
    person = lock_person(person)
    before = roles_held(person)
    if set(before) == roles:
        return person
    roles_replace(person, roles)
    audit_record(
        actor=actor, action="person.roles_set", obj=person, object_repr=person.get_username(),
        before={"roles": before}, after={"roles": sorted(roles)},
    )
    return person


@transaction.atomic
def person_deactivate(*, person, actor, reason: str, by_directory: bool = False):
    """A person leaves: they can no longer sign in, their sessions end now and their API
    tokens are revoked, so coming back does not revive them. What they own is untouched: hand
    it over first, or it is orphaned (and suspended after the grace period). The event says
    when the directory did it: only then may the directory undo it (deactivated_in_the_portal)."""
    _not_yourself(person, actor, "deactivate")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the person is deactivated."})
    person = lock_person(person)
    if not person.is_active:
        raise StateConflict("This person is already inactive.")
    person.is_active = False
    person.save(update_fields=["is_active"])
    revoked = PersonalAPIToken.objects.filter(user=person, revoked_at__isnull=True).update(revoked_at=timezone.now())
    ended = end_sessions_of(person)
    audit_record(
        actor=actor, action="person.deactivate", obj=person, object_repr=person.get_username(),
        before={"is_active": True},
        after={"is_active": False, "api_tokens_revoked": revoked, "sessions_ended": ended, **({"by_directory": True} if by_directory else {})},
        reason=reason.strip(),
    )
    return person


@transaction.atomic
def password_change(*, person, new_password: str, current_session_key: str | None):
    """A person changes their password (the caller checked the old one, counted toward the
    sign-in lockout): their other sessions end, with the API tokens made in them, since whoever
    may have had the old password may hold one. Returns the person as saved, and how many
    sessions ended and tokens were revoked. One `person.password_changed` event, never the password."""
    person = get_user_model().objects.select_for_update().get(pk=person.pk)  # request.user is a lazy stand-in
    person.set_password(new_password)
    person.save(update_fields=["password"])
    others = open_sessions_of(person)
    if current_session_key:
        others = others.exclude(session_key=current_session_key)
    ended, revoked = end_sessions_and_their_tokens(others, person=person, why=ENDED_BY_PASSWORD_CHANGE)
    audit_record(
        actor=person, action="person.password_changed", obj=person, object_repr=person.get_username(),
        after={"sessions_ended": ended, "api_tokens_revoked": revoked},
    )
    return person, ended, revoked


@transaction.atomic
def person_reactivate(*, person, actor, reason: str = ""):
    person = lock_person(person)
    if person.is_active:
        raise StateConflict("This person is already active.")
    person.is_active = True
    person.save(update_fields=["is_active"])
    audit_record(
        actor=actor, action="person.reactivate", obj=person, object_repr=person.get_username(),
        before={"is_active": False}, after={"is_active": True}, reason=reason.strip(),
    )
    return person

