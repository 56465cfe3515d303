"""The session engine (SESSION_ENGINE): Django's database sessions over PortalSession, whose
ids are stored hashed. The cookie carries the id; the table holds only its digest."""

from django.contrib.sessions.backends import db


class PortalSessions:
    """What both of the portal's session engines store sessions in (with cached_sessions.py)."""

    @classmethod
    def get_model_class(cls):
        from .models import PortalSession

        return PortalSession


class SessionStore(PortalSessions, db.SessionStore):
    pass
