"""JSON that callers send, parsed strictly: as the standard library does, with two differences
that keep malformed input a ValueError (a 400, an RFC 6749 error) instead of a 500.

A document nested deeper than the decoder's recursion limit raises RecursionError, which is
no ValueError. And NaN and Infinity, which json.loads takes although RFC 8259 has no such
values, compare false with everything: an exp of NaN would pass both "expired?" and "too far
ahead?".
"""

import json


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def loads(data):
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("The JSON is nested too deeply.") from None
