"""Ids typed into URLs and forms: digits only, as the database's integer keys take them, or a
UUID.

str.isdigit() is not that test: it is true for "²" and other Unicode digits, which int() and
the ORM then refuse with a ValueError (a 500). An id that is not plain ASCII digits, or too
long for a 64-bit key, is no id.
"""

import re
import uuid

from django.core.exceptions import ValidationError

_ID = re.compile(r"[0-9]{1,18}")


def as_id(value) -> int | None:
    """The integer id in `value`, or None."""
    text = str(value or "")
    return int(text) if _ID.fullmatch(text) else None


def as_uuid(value) -> uuid.UUID | None:
    """The UUID in `value`, or None."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class IdsOnly:
    """For a ModelMultipleChoiceField over integer keys: posted keys that are no id are a field
    error before the queryset sees them. Django's field catches ValueError, not the
    OverflowError SQLite raises for a key past 64 bits (a 500)."""

    parse = staticmethod(as_id)

    def _check_values(self, value):
        for key in value:
            if self.parse(key) is None:
                # The field's own message, never the posted text echoed back.
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": key})
        return super()._check_values(value)


class UuidsOnly(IdsOnly):
    """The same over UUID keys (identities): Django's own message would quote the posted text."""

    parse = staticmethod(as_uuid)
