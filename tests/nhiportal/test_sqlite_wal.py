"""WAL checkpoints run on a background thread, not in the commit of whichever request comes next."""

import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper

from nhiportal import sqlite_wal
from nhiportal.sqlite_wal import BACKSTOP_PAGES, checkpoint, database_file

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")


@contextmanager
def _file_connection(path):
    wrapper = DatabaseWrapper({**connection.settings_dict, "NAME": str(path)}, alias="wal-test")
    wrapper.ensure_connection()
    try:
        yield wrapper
    finally:
        wrapper.close()


@pytest.mark.django_db
def test_it_leaves_in_memory_databases_alone():
    assert database_file(connection) is None  # the test database lives in memory


def test_it_hands_checkpoints_of_a_database_file_to_a_thread(tmp_path, settings, django_db_blocker):
    settings.NHI = {**settings.NHI, "SQLITE_CHECKPOINT_SECONDS": 0.05}
    path = tmp_path / "portal.sqlite3"
    # A scratch database file of its own, not the test database.
    with django_db_blocker.unblock(), _file_connection(path) as wrapper, wrapper.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == BACKSTOP_PAGES  # commits no longer checkpoint themselves
        cursor.execute("CREATE TABLE ledger (row TEXT)")
        cursor.executemany("INSERT INTO ledger VALUES (%s)", [("x" * 1000,) for _ in range(200)])
        assert any(t.name == "sqlite-wal-checkpoint" and t.is_alive() for t in threading.enumerate())
        # Only a checkpoint copies pages from the WAL into the database file.
        deadline = time.monotonic() + 5
        while path.stat().st_size < 200 * 1000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= 200 * 1000


def test_a_checkpoint_copies_every_committed_frame(tmp_path):
    path = tmp_path / "portal.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE ledger (row TEXT)")
    db.executemany("INSERT INTO ledger VALUES (?)", [("x" * 1000,) for _ in range(50)])
    busy, frames, copied = checkpoint(str(path))
    assert busy == 0 and frames > 0 and copied == frames
    db.close()


def _wal_frames(path) -> int:
    return sqlite3.connect(path, isolation_level=None).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


def test_a_round_starts_the_wal_over_while_writers_keep_committing(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_wal, "RESTART_PAGES", 10)
    path = str(tmp_path / "portal.sqlite3")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE ledger (row TEXT)")
    setup.close()
    stop, commits = threading.Event(), []

    def issue_tokens():  # as issuance does: one writer at a time, through the queue
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA wal_autocheckpoint=0")  # only our rounds checkpoint
        while not stop.is_set():
            with sqlite_wal.writer_queue.held(path):
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO ledger VALUES (?)", ("x" * 3000,))
                db.execute("COMMIT")
            commits.append(1)
        db.close()

    writer = threading.Thread(target=issue_tokens)
    writer.start()
    try:
        while len(commits) < 300:
            time.sleep(0.01)
        grown = _wal_frames(path)
        sqlite_wal._checkpoint_round(sqlite3.connect(path, isolation_level=None, timeout=0), path)
        after_round = len(commits)
        while len(commits) < after_round + 5:
            time.sleep(0.001)
        restarted = _wal_frames(path)
    finally:
        stop.set()
        writer.join()
    assert grown >= 300  # the writer never gave a plain checkpoint the chance to start over
    assert restarted < grown / 4  # after the round, the WAL began again from its start
