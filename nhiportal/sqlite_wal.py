"""SQLite's WAL checkpoints, off the request path.

In WAL mode a commit appends pages to the -wal file, and a checkpoint copies them back into
the database file and fsyncs it. By default the commit that takes the WAL past 1,000 pages
runs that checkpoint itself: on the token endpoint that is every 25th issuance or so, about
25 ms here, while it still holds the write lock every other writer waits for.

So each process that opens a SQLite file starts one thread that checkpoints every
SQLITE_CHECKPOINT_SECONDS, PASSIVE (it never blocks a reader or a writer), on its own
connection. A connection only checkpoints itself as a backstop, once the WAL passes
BACKSTOP_PAGES (the thread stuck, say), so the WAL stays bounded whatever happens. With
SQLITE_CHECKPOINT_SECONDS at 0, SQLite's default applies.
"""

import logging
import os
import sqlite3
import threading
import time

from nhiportal.conf import nhi_setting

logger = logging.getLogger(__name__)

BACKSTOP_PAGES = 10_000  # about 40 MB of WAL
_started: set[tuple[int, str]] = set()
_lock = threading.Lock()


def database_file(connection) -> str | None:
    """The SQLite file behind a Django connection; None for in-memory databases."""
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if name.startswith("file:") or ":memory:" in name:
        return None
    return name


def checkpoint(path: str) -> tuple[int, int, int]:
    """One PASSIVE checkpoint of the file's WAL: (busy, frames in the WAL, frames checkpointed)."""
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        return db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        db.close()


def _checkpoint_forever(path: str, seconds: float) -> None:
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    while True:
        time.sleep(seconds)
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError as exc:
            # Busy: another process is checkpointing, or a migration holds the database.
            # The next round tries again; the backstop bounds the WAL meanwhile.
            logger.debug("WAL checkpoint of %s skipped: %s", path, exc)
        except sqlite3.Error as exc:
            logger.warning("WAL checkpoint of %s failed: %s", path, exc)


def on_connection_created(sender, connection, **kwargs) -> None:
    """Hand the new connection's checkpoints to this process's checkpointer thread."""
    path = database_file(connection)
    seconds = float(nhi_setting("SQLITE_CHECKPOINT_SECONDS"))
    if path is None or seconds <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    key = (os.getpid(), path)  # a forked worker starts its own
    with _lock:
        if key in _started:
            return
        _started.add(key)
    threading.Thread(target=_checkpoint_forever, args=(path, seconds), name="sqlite-wal-checkpoint", daemon=True).start()
