"""A mail server on loopback for the tests, speaking just enough SMTP for Django's smtp
backend: it takes each message, but refuses (550) the recipients in `refused`."""

import socket
import threading


class SMTPServer:
    def __init__(self, refused=()):
        self.refused, self.delivered = set(refused), []  # delivered: the recipients of each message taken
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        with conn, conn.makefile("rb") as lines:
            send = lambda reply: conn.sendall(reply.encode() + b"\r\n")  # noqa: E731
            send("220 test ESMTP")
            recipients = []
            for raw in lines:
                command = raw.decode(errors="replace").strip()
                verb = command.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    send("250 test")
                elif verb in ("MAIL", "RSET", "NOOP"):
                    recipients = [] if verb != "NOOP" else recipients
                    send("250 OK")
                elif verb == "RCPT":
                    address = command.split(":", 1)[1].strip().strip("<>")
                    if address in self.refused:
                        send("550 no such mailbox")
                    else:
                        recipients.append(address)
                        send("250 OK")
                elif verb == "DATA":
                    send("354 go on")
                    for body_line in lines:
                        if body_line.rstrip(b"\r\n") == b".":
                            break
                    self.delivered.append(recipients)
                    send("250 taken")
                elif verb == "QUIT":
                    send("221 bye")
                    return
                else:
                    send("502 not here")

    def stop(self):
        self._socket.close()


def closed_port() -> int:
    """A loopback port nothing listens on (it was just let go)."""
    with socket.create_server(("127.0.0.1", 0)) as held:
        return held.getsockname()[1]
