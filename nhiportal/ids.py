"""Ids typed into URLs and forms: digits only, as the database's integer keys take them.

str.isdigit() is not that test: it is true for "²" and other Unicode digits, which int() and
the ORM then refuse with a ValueError (a 500). An id that is not plain ASCII digits, or too
long for a 64-bit key, is no id.
"""

import re

_ID = re.compile(r"[0-9]{1,18}")


def as_id(value) -> int | None:
    """The integer id in `value`, or None."""
    text = str(value or "")
    return int(text) if _ID.fullmatch(text) else None
