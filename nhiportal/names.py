"""What a name may hold: what its reader sees.

An identity's, a service's or an API token's name shows on pages, in mail subjects, in chat
lines and in the audit trail. A line break there forges a second line (or a mail header), and
an unseen character (a zero-width space, a right-to-left override) makes one name pass for
another on a reviewer's queue, or reorders the text after it. Such names are refused where
they are given, next to the field."""

import unicodedata

from django.core.exceptions import ValidationError

# Controls (line breaks, tabs), formatting (zero-width, bidirectional overrides), line and
# paragraph separators, private-use and surrogate code points.
_UNSEEN = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs"}


def refuse_unseen(field: str, name: str) -> None:
    """Raise a ValidationError on `field` when `name` holds a character its reader cannot see."""
    unseen = next((c for c in name if unicodedata.category(c) in _UNSEEN), None)
    if unseen is not None:
        what = unicodedata.name(unseen, "a control character").lower()
        raise ValidationError({field: f"Use only characters a reader can see: U+{ord(unseen):04X} ({what}) is not one."})
