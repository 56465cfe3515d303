"""Writes for people: personal API tokens."""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record

from .models import TOKEN_PREFIX, PersonalAPIToken, hash_api_token

MAX_TOKEN_DAYS = 365


@transaction.atomic
def api_token_create(*, user, name: str, days: int, actor=None) -> tuple[PersonalAPIToken, str]:
    """Create a token for user; return it and the raw value, which is never stored."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationError({"days": f"Choose between 1 and {MAX_TOKEN_DAYS} days."})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalAPIToken(
        user=user,
        name=name,
        hint=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_api_token(raw),
        expires_at=timezone.now() + timedelta(days=days),
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=actor or user,
        action="api_token.create",
        obj=token,
        after={"user": user.get_username(), "name": name, "expires_at": token.expires_at.isoformat()},
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
