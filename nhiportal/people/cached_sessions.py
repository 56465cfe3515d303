"""The session engine with a cache (Redis) in front: Django's cached_db sessions over
PortalSession, and cache entries keyed by the id's digest too, so neither Redis nor the table
holds an id that would log anyone in."""

from django.contrib.sessions.backends import cached_db

from .models import StoredDigest, session_key_digest
from .sessions import PortalSessions


class _DigestPrefix(str):
    """The cache key prefix. Django's cached_db store builds every cache key as
    `cache_key_prefix + session_key` (reading, saving, exists, delete, sync and async alike);
    this prefix hashes the id it is joined to, so all of them use the digest. A key read back
    from the table is the digest already, as the session field treats it."""

    def __add__(self, session_key):
        if not isinstance(session_key, StoredDigest):
            session_key = session_key_digest(session_key)
        return str.__add__(self, session_key)


class SessionStore(PortalSessions, cached_db.SessionStore):
    cache_key_prefix = _DigestPrefix(cached_db.KEY_PREFIX)
