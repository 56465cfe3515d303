"""JSON that callers send, parsed strictly: as the standard library does, with three differences
that keep malformed input a ValueError (a 400, an RFC 6749 error) instead of a 500.

A document nested deeper than the decoder's recursion limit raises RecursionError, which is
no ValueError. NaN and Infinity, which json.loads takes although RFC 8259 has no such
values (and a number past a float's range, 1e400, which it reads as Infinity): NaN compares
false with everything, so an exp of NaN would pass both "expired?" and "too far ahead?". A NUL character (escaped, \\u0000), which PostgreSQL refuses in text and jsonb. And
a lone surrogate (an escaped \\ud800 with no pair): Python decodes it to a string that cannot
be encoded as UTF-8, so the first query, signature or response that used it was a 500
(RFC 8259 section 8.2 leaves such text's meaning undefined; RFC 7493 rejects it).
"""

import json
import math


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    """A number too large for a float (1e400) parses to infinity: refused like Infinity itself."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"The number {text[:20]} is too large.")
    return value


def loads(data):
    # No field takes a NUL (U+0000), and PostgreSQL refuses it in text and jsonb; inside a signed
    # token's segments or a form field's JSON the request-level check (nul_bytes.py) cannot see it.
    if (b"\\u0000" if isinstance(data, bytes) else "\\u0000") in data:
        raise ValueError("The JSON holds a NUL character (\\u0000), which no field takes.")
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("The JSON is nested too deeply.") from None
    if (b"\\u" if isinstance(data, bytes) else "\\u") in data and holds_lone_surrogate(value):
        raise ValueError(LONE_SURROGATE)
    return value


LONE_SURROGATE = "The JSON holds an unpaired surrogate escape (such as \\ud800), which is no character."


def holds_lone_surrogate(value) -> bool:
    """Whether any string in the parsed document, key or value, is not encodable as UTF-8.
    Without a stack of calls: the document may be nested as deep as the decoder allows."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
