"""JSON that callers send, parsed strictly: as the standard library does, with three differences
that keep malformed input a ValueError (a 400, an RFC 6749 error) instead of a 500.

A document nested deeper than the decoder's recursion limit raises RecursionError, which is
no ValueError. NaN and Infinity, which json.loads takes although RFC 8259 has no such
values, compare false with everything: an exp of NaN would pass both "expired?" and "too far
ahead?". And a NUL character (escaped, \\u0000), which PostgreSQL refuses in text and jsonb.
"""

import json


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def loads(data):
    # No field takes a NUL (U+0000), and PostgreSQL refuses it in text and jsonb; inside a signed
    # token's segments or a form field's JSON the request-level check (nul_bytes.py) cannot see it.
    if (b"\\u0000" if isinstance(data, bytes) else "\\u0000") in data:
        raise ValueError("The JSON holds a NUL character (\\u0000), which no field takes.")
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("The JSON is nested too deeply.") from None
