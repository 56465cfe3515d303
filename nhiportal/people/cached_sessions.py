"""The session engine with a cache (Redis) in front: Django's cached_db sessions over
PortalSession, and cache entries keyed by the id's digest too, so neither Redis nor the table
holds an id that would log anyone in."""

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches
from django.db import transaction

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

    @classmethod
    def end(cls, stored_keys) -> None:
        """The rows, and their copies in the cache: a session found in the cache is never
        looked up in the table. The copies go again once the rows' deletion is committed: a
        request reading one of these sessions meanwhile, on a cache miss, still finds its row
        and puts it back in the cache."""
        super().end(stored_keys)
        cache_keys = [cls.cache_key_prefix + key for key in stored_keys]
        cache = caches[settings.SESSION_CACHE_ALIAS]
        cache.delete_many(cache_keys)
        transaction.on_commit(lambda: cache.delete_many(cache_keys))
