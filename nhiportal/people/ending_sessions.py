"""Ending a person's browser sessions at once, rather than waiting for them to expire: a
security admin's "sign them out everywhere", a leaver's deactivation (services.py), the
identity provider's back-channel logout (single_sign_out.py), a person signing their other
browsers out, and a password change (services.py). Each session row names its person
(PortalSession.user); the engine in use deletes the rows and whatever it keeps in front of them
(cached_sessions.py).

A session ended because it may be in the wrong hands (by a security admin, by its person, by a
password change) takes with it the personal API tokens made in it (PersonalAPIToken.
made_in_session), in the same transaction: a token minted from a stolen browser must not
outlive the browser's session. The event says how many.

An ordinary ending takes none: signing out, the session running out (8 hours), and the
provider's back-channel logout, which it also sends when the person merely signs out there, and
which names all their sessions when it names none the portal knows (so it would reach tokens
made in other browsers). A token is for scripts that run after the browser closes; tied to
every ending, it would last a working day whatever its person chose, and signing out, the
careful habit, would cost them their tokens. So it lasts its days, or until revoked (as
GitHub's and Okta's personal tokens outlive sign-out); a leaver's go with their deactivation."""

import hashlib
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record

from .models import PersonalAPIToken, PortalSession, session_fingerprint

# Why a token made in an ended session was revoked, as its person reads it on their API tokens page.
ENDED_BY_ADMIN = "Its session was ended by a security admin: "
ENDED_BY_YOU = "Its session was ended when you signed out your other sessions."
ENDED_ONE_BY_YOU = "Its session was ended when you signed it out on your sessions page."
ENDED_BY_PASSWORD_CHANGE = "Its session was ended when your password was changed."


def open_sessions_of(person):
    """The person's sessions that still sign them in (an expired row waits for clearsessions)."""
    return PortalSession.objects.filter(user=person, expire_date__gt=timezone.now())


def _end(keys) -> None:
    if keys:
        import_module(settings.SESSION_ENGINE).SessionStore.end(keys)


def end_sessions(sessions) -> int:
    """End these sessions (a PortalSession queryset); return how many ended. The caller
    audits, inside its own transaction."""
    keys = list(sessions.values_list("session_key", flat=True))
    _end(keys)
    return len(keys)


def end_sessions_and_their_tokens(sessions, *, person, why: str) -> tuple[int, int]:
    """End these sessions of the person, and revoke the live API tokens made in them, saying
    `why` on each; return how many of each. The caller audits, inside its own transaction.

    The rows go first: a token being made meanwhile holds its session's row (services.
    api_token_create), so either it is committed before the deletion and revoked here, or it
    finds its session gone and is not made."""
    keys = list(sessions.filter(user=person).values_list("session_key", flat=True))
    if not keys:
        return 0, 0
    _end(keys)
    now = timezone.now()
    revoked = PersonalAPIToken.objects.filter(
        user=person, made_in_session__in=[session_fingerprint(key) for key in keys], revoked_at__isnull=True, expires_at__gt=now,
    ).update(revoked_at=now, revoke_reason=why[:200])
    return len(keys), revoked


def session_reference(stored_key: str) -> str:
    """How the sessions page names a session in its forms: not the stored digest, which also
    keys the session cache, but a digest of it, which opens nothing."""
    return hashlib.sha256(f"session-reference:{stored_key}".encode()).hexdigest()[:20]


def end_sessions_of(person, *, keep: str | None = None) -> int:
    """End the person's open sessions but `keep` (the id of the session asking, from its
    cookie); return how many ended."""
    sessions = open_sessions_of(person)
    if keep:
        sessions = sessions.exclude(session_key=keep)
    return end_sessions(sessions)


@transaction.atomic
def person_sessions_end(*, person, actor, reason: str) -> int:
    """A security admin signs a person out of every browser (a stolen laptop, a session they
    suspect): they sign in again, and can, unless they are also deactivated. The API tokens made
    in those sessions are revoked. One audit event, none when there was no session to end."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why their sessions are ended."})
    ended, revoked = end_sessions_and_their_tokens(open_sessions_of(person), person=person, why=ENDED_BY_ADMIN + reason.strip())
    if ended:
        audit_record(
            actor=actor, action="person.sessions_ended", obj=person, object_repr=person.get_username(),
            after={"sessions_ended": ended, "api_tokens_revoked": revoked}, reason=reason.strip(),
        )
    return ended


@transaction.atomic
def own_other_sessions_end(*, person, current_session_key: str) -> int:
    """A person signs out every browser but the one they are using, and the API tokens made in them."""
    sessions = open_sessions_of(person).exclude(session_key=current_session_key)
    ended, revoked = end_sessions_and_their_tokens(sessions, person=person, why=ENDED_BY_YOU)
    if ended:
        audit_record(
            actor=person, action="person.sessions_ended", obj=person, object_repr=person.get_username(),
            after={"sessions_ended": ended, "api_tokens_revoked": revoked, "kept_their_current_session": True},
            reason="signed out their other sessions",
        )
    return ended


@transaction.atomic
def own_session_end(*, person, reference: str, current_session_key: str) -> bool:
    """A person signs one of their other browsers out (one they do not recognise, a shared
    computer); False when no such session of theirs is open (ended meanwhile, or not theirs)."""
    keys = [
        key for key in open_sessions_of(person).exclude(session_key=current_session_key).values_list("session_key", flat=True)
        if session_reference(key) == reference
    ]
    if not keys:
        return False
    ended, revoked = end_sessions_and_their_tokens(PortalSession.objects.filter(session_key__in=keys), person=person, why=ENDED_ONE_BY_YOU)
    audit_record(
        actor=person, action="person.sessions_ended", obj=person, object_repr=person.get_username(),
        after={"sessions_ended": ended, "api_tokens_revoked": revoked, "kept_their_current_session": True},
        reason="signed out one of their other sessions",
    )
    return True
