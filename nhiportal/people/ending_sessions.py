"""Ending a person's browser sessions at once, rather than waiting for them to expire: a
security admin's "sign them out everywhere", a leaver's deactivation (services.py), the
identity provider's back-channel logout (single_sign_out.py), and a person signing their
other browsers out. Each session row names its person (PortalSession.user); the engine in
use deletes the rows and whatever it keeps in front of them (cached_sessions.py)."""

import hashlib
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record

from .models import PortalSession


def open_sessions_of(person):
    """The person's sessions that still sign them in (an expired row waits for clearsessions)."""
    return PortalSession.objects.filter(user=person, expire_date__gt=timezone.now())


def end_sessions(sessions) -> int:
    """End these sessions (a PortalSession queryset); return how many ended. The caller
    audits, inside its own transaction."""
    keys = list(sessions.values_list("session_key", flat=True))
    if keys:
        import_module(settings.SESSION_ENGINE).SessionStore.end(keys)
    return len(keys)


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
    suspect): they sign in again, and can, unless they are also deactivated. One audit event,
    none when there was no session to end."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why their sessions are ended."})
    ended = end_sessions_of(person)
    if ended:
        audit_record(
            actor=actor, action="person.sessions_ended", obj=person, object_repr=person.get_username(),
            after={"sessions_ended": ended}, reason=reason.strip(),
        )
    return ended


@transaction.atomic
def own_other_sessions_end(*, person, current_session_key: str) -> int:
    """A person signs out every browser but the one they are using."""
    ended = end_sessions_of(person, keep=current_session_key)
    if ended:
        audit_record(
            actor=person, action="person.sessions_ended", obj=person, object_repr=person.get_username(),
            after={"sessions_ended": ended, "kept_their_current_session": True}, reason="signed out their other sessions",
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
    end_sessions(PortalSession.objects.filter(session_key__in=keys))
    audit_record(
        actor=person, action="person.sessions_ended", obj=person, object_repr=person.get_username(),
        after={"sessions_ended": len(keys), "kept_their_current_session": True}, reason="signed out one of their other sessions",
    )
    return True
