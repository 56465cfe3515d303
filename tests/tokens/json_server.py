"""A JSON server on loopback for the documents the portal fetches (SPIFFE bundles, resource metadata)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonServer:
    """Serves `documents[path]` as JSON, or `status` with garbage when it is not 200;
    `redirects[path]` answers 302 to that location; any other path is a 404. Counts the fetches."""

    def __init__(self):
        self.documents, self.redirects, self.status, self.fetches = {}, {}, 200, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.fetches += 1
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                found = self.path in server.documents
                status = server.status if found else 404
                body = json.dumps(server.documents[self.path]).encode() if found and status == 200 else b"<html>no</html>"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self._http.shutdown()
        self._http.server_close()
