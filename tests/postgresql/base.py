"""PostgreSQL for the test suite: Django's own backend, emptying tables with DELETE rather
than TRUNCATE.

After each test that commits (the live server's, the browser's, transactional ones)
pytest-django empties every table. TRUNCATE gives each of the sixty tables new files, about
350 ms a time here; deleting the few rows a test leaves takes about 20. Django creates foreign
keys deferred to the commit, and the flush runs in one transaction, so the order of the deletes
does not matter. Where Django asks for more than emptying every table (sequences reset, or a
cascade to tables it does not list), TRUNCATE stays.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences or allow_cascade:
            return super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
