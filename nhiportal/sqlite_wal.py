"""SQLite's WAL checkpoints off the request path, and the queue of issuing writers.

In WAL mode a commit appends pages to the -wal file, and a checkpoint copies them back into
the database file and fsyncs it. By default the commit that takes the WAL past 1,000 pages
runs that checkpoint itself: on the token endpoint that is every 25th issuance or so, about
25 ms here, while it still holds the write lock every other writer waits for.

So each process that opens a SQLite file starts one thread that checkpoints every
SQLITE_CHECKPOINT_SECONDS, on its own connection; whichever process's thread comes first
does the round (an flock on a file beside the database), the others skip it. A round is
two PASSIVE passes beside the writers, which copy nearly everything. Then, if the WAL has
grown past RESTART_PAGES, one RESTART pass inside the writer queue (below), which copies the
few frames committed meanwhile and starts the WAL over. Without it the WAL never starts over
under steady load (a writer always appends while a checkpoint runs, so no writer ever begins
on a fully copied WAL): it grows to the backstop, and the request whose commit crosses it
pays a checkpoint of thousands of pages (12 to 19 ms here) while other writers wait. The
RESTART pass holds the queue for a few milliseconds instead.

A connection only checkpoints itself as a backstop, once the WAL passes BACKSTOP_PAGES (the
thread stuck, say), so the WAL stays bounded whatever happens. With SQLITE_CHECKPOINT_SECONDS
at 0, SQLite's default applies.
"""

import fcntl
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from nhiportal.conf import nhi_setting

logger = logging.getLogger(__name__)

BACKSTOP_PAGES = 10_000  # about 40 MB of WAL
RESTART_PAGES = 2_000  # about 70 tokens (30 pages each); a lightly used WAL starts over by itself
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


class WriterQueue:
    """Writers of one SQLite file, one at a time, queued by the kernel rather than by SQLite.

    Two processes that both want SQLite's write lock do not queue: the loser sleeps and
    retries (1, 2, 5, 10, 15, 20, 25 ... ms), so under steady load a worker spends more time
    asleep than issuing. An flock on a file beside the database wakes the next writer the
    moment the lock is released. Token issuance and the checkpointer's RESTART pass queue
    here; other writers still meet SQLite's own busy timeout, so this changes waiting, never
    correctness. PostgreSQL locks rows and needs none of this.
    """

    def __init__(self):
        self._files: dict[str, int] = {}
        # flock belongs to the open file, which this process's threads share: they queue on
        # this lock first.
        self._threads = threading.Lock()

    def _fd(self, path: str) -> int:
        fd = self._files.get(path)
        if fd is None:
            fd = self._files[path] = os.open(f"{path}.issue-lock", os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    @contextmanager
    def held(self, connection_or_path):
        """Hold the queue of this Django connection's (or this path's) SQLite file; other databases pass."""
        path = connection_or_path if isinstance(connection_or_path, str) else database_file(connection_or_path)
        if path is None:
            yield
            return
        fd = self._fd(path)
        with self._threads:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


writer_queue = WriterQueue()


def _checkpoint_round(db, path: str) -> None:
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    _busy, frames, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if frames > RESTART_PAGES:
        with writer_queue.held(path):
            db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()


def _checkpoint_forever(path: str, seconds: float) -> None:
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    turn = os.open(f"{path}.checkpoint-lock", os.O_RDWR | os.O_CREAT, 0o600)
    while True:
        time.sleep(seconds)
        try:
            fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # another process is checkpointing this file
        try:
            _checkpoint_round(db, path)
        except sqlite3.OperationalError as exc:
            # Busy: a reader or a writer outside the queue (a migration, a page) holds on.
            # The next round tries again; the backstop bounds the WAL meanwhile.
            logger.debug("WAL checkpoint of %s skipped: %s", path, exc)
        except sqlite3.Error as exc:
            logger.warning("WAL checkpoint of %s failed: %s", path, exc)
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)


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
