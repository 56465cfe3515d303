"""Connections cut off at a deadline for the whole exchange, whatever they are doing.

A socket's timeout bounds each read only: a server sending its status line and headers a byte
just inside it, again and again, would hold the caller (a sweep step, a worker, a webhook
sender past its lease) as long as it liked. Mixed into an http.client or urllib3 connection
class, Deadline starts a timer when the connection opens that shuts its socket at the
deadline; the read blocked in the caller's thread then sees the end of the stream. The caller
cancels the timers (`watchdogs`) once the exchange is over. Used by the remote JSON fetches
(tokens/remote_json.py) and webhook delivery (nhiportal/webhooks/delivery.py).
"""

import socket
import threading
import time


def _cut_off(sock) -> None:
    # socket.socket's own shutdown, even on a TLS socket: it wakes a read blocked in another
    # thread without touching the TLS object under it.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # already closed: the exchange ended first
        pass


class Deadline:
    """A connection cut off at `deadline` (time.monotonic()); its timer joins `watchdogs`."""

    def __init__(self, *args, deadline: float, watchdogs: list, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline, self._watchdogs = deadline, watchdogs

    def connect(self):
        super().connect()
        watchdog = threading.Timer(max(0.0, self._deadline - time.monotonic()), _cut_off, (self.sock,))
        watchdog.daemon = True
        self._watchdogs.append(watchdog)
        watchdog.start()
