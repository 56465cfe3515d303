from django.apps import AppConfig
from django.db.backends.signals import connection_created


class PortalConfig(AppConfig):
    """The project itself: process-wide wiring that belongs to no one feature."""

    name = "nhiportal"
    label = "portal"
    verbose_name = "NHI Portal"

    def ready(self):
        from . import sqlite_wal

        connection_created.connect(sqlite_wal.on_connection_created, dispatch_uid="nhiportal.sqlite_wal")
