"""A loopback HTTP server that answers each request with whatever raw bytes the test sets, or
closes the connection without a word: the misbehaving dependency the portal must survive
(an endpoint answering HTML, a body past every limit, a dropped connection)."""

import socket
import threading
import time


class MisbehavingServer:
    """`answer` is the raw HTTP response (bytes) every request gets, or None to close the
    connection as soon as the request has arrived; `every` seconds between its bytes trickles
    it, status line and headers included. Counts the requests."""

    def __init__(self, answer: bytes | None = None, every: float = 0):
        self.answer, self.every, self.requests = answer, every, 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.origin = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def respond(self, status: str, body: bytes, content_type: str = "application/json", **headers) -> None:
        """Answer every request with this status line ("200 OK"), type and body."""
        lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        self.answer = ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def _serve(self):
        self._socket.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    received += chunk
                self.requests += 1
                if self.answer is not None and not self.every:
                    conn.sendall(self.answer)
                for i in range(len(self.answer or b"") if self.every else 0):
                    if self._stopping.is_set():
                        return
                    conn.sendall(self.answer[i:i + 1])
                    time.sleep(self.every)
            except OSError:
                return

    def stop(self):
        self._stopping.set()
        self._socket.close()
