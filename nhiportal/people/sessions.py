"""The session engine (SESSION_ENGINE): Django's database sessions over PortalSession, whose
ids are stored hashed. The cookie carries the id; the table holds only its digest, and the
person signed in to it, so their sessions can be ended at once (people/ending_sessions.py)."""

from datetime import datetime

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.utils import timezone

from inventory.networks import canonical

# Where a single sign-on keeps the provider's session id (sid) in the session data.
PROVIDER_SESSION_KEY = "sso_sid"
# Where every sign-in (password, second factor, single sign-on) notes when, from which browser
# and from which address it happened (note_sign_in, on Django's user_logged_in signal).
SIGN_IN_KEY = "signed_in"
MAX_CLIENT = 400


def note_sign_in(sender, request, user, **kwargs):
    """Receives user_logged_in: login() has just given the session its new id and person.
    The address is REMOTE_ADDR only, as everywhere: a forwarded-for header is the client's to write."""
    request.session[SIGN_IN_KEY] = {
        "at": timezone.now().isoformat(),
        # Printable characters only: a NUL, which PostgreSQL refuses in text, would keep the
        # session from being saved, and the browser from signing in.
        "client": "".join(c for c in request.META.get("HTTP_USER_AGENT", "")[:MAX_CLIENT] if c.isprintable()),
        "address": canonical(request.META.get("REMOTE_ADDR", "")) or None,
    }


def _person_id(data: dict) -> int | None:
    try:
        return int(data.get(SESSION_KEY))
    except (TypeError, ValueError):
        return None  # nobody is signed in to it (yet)


def _sign_in(data: dict) -> dict:
    noted = data.get(SIGN_IN_KEY)
    if not isinstance(noted, dict):
        return {"signed_in_at": None, "client": "", "address": None}
    try:
        at = datetime.fromisoformat(noted.get("at"))
    except (TypeError, ValueError):
        at = None
    return {"signed_in_at": at, "client": str(noted.get("client") or "")[:MAX_CLIENT], "address": noted.get("address") or None}


def _copy_columns(session, data: dict):
    session.user_id = _person_id(data)
    session.provider_session = data.get(PROVIDER_SESSION_KEY) or ""
    for column, value in _sign_in(data).items():
        setattr(session, column, value)
    return session


class PortalSessions:
    """What both of the portal's session engines store sessions in (with cached_sessions.py)."""

    @classmethod
    def get_model_class(cls):
        from .models import PortalSession

        return PortalSession

    # Every save writes the whole row, so the columns follow the data: login() saves the
    # person's id in it, and a session nobody is signed in to names nobody.
    def create_model_instance(self, data):
        return _copy_columns(super().create_model_instance(data), data)

    async def acreate_model_instance(self, data):
        return _copy_columns(await super().acreate_model_instance(data), data)

    @classmethod
    def end(cls, stored_keys) -> None:
        """End these sessions, given by the keys read back from the table (their digests).
        Run it inside the caller's transaction."""
        cls.get_model_class().objects.filter(session_key__in=stored_keys).delete()


class SessionStore(PortalSessions, db.SessionStore):
    pass
