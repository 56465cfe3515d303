"""Waiting for a page's htmx panels, without Playwright's "networkidle".

networkidle waits for half a second with no request in flight after every page, which was
most of the browser tests' time. The page fixture (tests/conftest.py) watches the page's
requests; `wait_until_quiet` returns once none has been in flight for QUIET seconds: longer
than htmx's settle delay (20 ms), after which a loaded panel starts its own panels' requests.
"""

import time

QUIET = 0.1


class Traffic:
    """The requests a page has in flight, and when that last changed."""

    def __init__(self, page):
        self.pending = set()
        self.changed = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request):
        self.pending.add(request)
        self.changed = time.monotonic()

    def _ended(self, request):
        self.pending.discard(request)
        self.changed = time.monotonic()


def watch(page) -> Traffic:
    page.nhi_traffic = Traffic(page)
    return page.nhi_traffic


def wait_until_quiet(page, timeout: float = 10) -> None:
    traffic = getattr(page, "nhi_traffic", None)
    if traffic is None:  # a page a test opened itself, unwatched: Playwright's own wait
        page.wait_for_load_state("networkidle")
        return
    deadline = time.monotonic() + timeout
    while True:
        page.wait_for_timeout(10)  # lets Playwright deliver the request events
        now = time.monotonic()
        if not traffic.pending and now - traffic.changed >= QUIET:
            return
        if now > deadline:
            raise TimeoutError(f"Requests still in flight after {timeout} s: {[r.url for r in traffic.pending]}")
