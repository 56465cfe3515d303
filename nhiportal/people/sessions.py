"""The session engine (SESSION_ENGINE): Django's database sessions over PortalSession, whose
ids are stored hashed. The cookie carries the id; the table holds only its digest."""

from django.contrib.sessions.backends import db


class SessionStore(db.SessionStore):
    @classmethod
    def get_model_class(cls):
        from .models import PortalSession

        return PortalSession
