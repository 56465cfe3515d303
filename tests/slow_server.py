"""A loopback HTTP server whose answer arrives one byte at a time (a slow or hostile peer)."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlowServer:
    def __init__(self, *, body: bytes, every: float, declared_length: int | None = None):
        self.body, self.every = body, every
        self.declared_length = len(body) if declared_length is None else declared_length
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(server.declared_length))
                self.end_headers()
                self.wfile.flush()
                for i in range(len(server.body)):
                    try:
                        self.wfile.write(server.body[i:i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    if server.every:
                        time.sleep(server.every)

            def do_GET(self):
                self._answer()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer()

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self._http.shutdown()
        self._http.server_close()
