"""What any client can make the portal log is a line at WARNING, never an ERROR with a traceback.

A request naming a Host the portal does not serve is logged by Django as an ERROR with its
traceback (django.security.DisallowedHost), and every 403 and 404 as a WARNING with one
(django.request). Anyone on the network can send those at will, so an operator who alerts on
the log's errors, as README asks, would be paged by a scanner and the log filled with
tracebacks of nothing wrong. Suspicious requests stay in the log, one line each; a 5xx keeps
its ERROR and its traceback.
"""

import logging


class ClientCaused(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        security = record.name.startswith("django.security.")
        if security or (record.name == "django.request" and record.levelno < logging.ERROR):
            if security and record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info, record.exc_text = None, None
        return True
