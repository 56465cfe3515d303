"""The session engine (SESSION_ENGINE): Django's database sessions over PortalSession, whose
ids are stored hashed. The cookie carries the id; the table holds only its digest, and the
person signed in to it, so their sessions can be ended at once (people/ending_sessions.py)."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db


def _person_id(data: dict) -> int | None:
    try:
        return int(data.get(SESSION_KEY))
    except (TypeError, ValueError):
        return None  # nobody is signed in to it (yet)


class PortalSessions:
    """What both of the portal's session engines store sessions in (with cached_sessions.py)."""

    @classmethod
    def get_model_class(cls):
        from .models import PortalSession

        return PortalSession

    # Every save writes the whole row, so the column follows the data: login() saves the
    # person's id in it, and a session nobody is signed in to names nobody.
    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = _person_id(data)
        return session

    async def acreate_model_instance(self, data):
        session = await super().acreate_model_instance(data)
        session.user_id = _person_id(data)
        return session

    @classmethod
    def end(cls, stored_keys) -> None:
        """End these sessions, given by the keys read back from the table (their digests).
        Run it inside the caller's transaction."""
        cls.get_model_class().objects.filter(session_key__in=stored_keys).delete()


class SessionStore(PortalSessions, db.SessionStore):
    pass
