"""The session engine (SESSION_ENGINE): Django's database sessions over PortalSession, whose
ids are stored hashed. The cookie carries the id; the table holds only its digest, and the
person signed in to it, so their sessions can be ended at once (people/ending_sessions.py)."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db

# Where a single sign-on keeps the provider's session id (sid) in the session data.
PROVIDER_SESSION_KEY = "sso_sid"


def _person_id(data: dict) -> int | None:
    try:
        return int(data.get(SESSION_KEY))
    except (TypeError, ValueError):
        return None  # nobody is signed in to it (yet)


def _copy_columns(session, data: dict):
    session.user_id = _person_id(data)
    session.provider_session = data.get(PROVIDER_SESSION_KEY) or ""
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
