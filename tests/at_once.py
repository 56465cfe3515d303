"""People acting on the same thing at the same moment, each from their own browser.

For the race tests (pytest.mark.postgres, django_db(transaction=True)): SQLite serializes
writers, so only PostgreSQL's row locks show whether two decisions can cross.
"""

import threading

from django.db import connection
from django.test import Client


def at_once(*posts) -> list:
    """Each (person, url, data) POSTs from its own logged-in client and thread, all released
    together. Returns the status codes in the order given; a view that raised counts as a
    500, named with its exception so a failing assertion says what broke."""
    start = threading.Barrier(len(posts))
    statuses = [None] * len(posts)

    def post(i, person, url, data):
        client = Client()
        try:
            client.force_login(person)
            start.wait()
            statuses[i] = client.post(url, data).status_code
        except Exception as error:  # reported as the 500 a browser would get
            statuses[i] = f"500 {error!r}"
        finally:
            connection.close()

    workers = [threading.Thread(target=post, args=(i, *p)) for i, p in enumerate(posts)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return statuses
