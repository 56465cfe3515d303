"""CSV written by the portal: cells a spreadsheet would run as formulas are defused.

Names, purposes and notes are typed in by people; a cell starting with = + - @ (or a tab or
carriage return) opens as a formula in Excel or Sheets (OWASP "CSV injection"), so such a
cell gets a leading apostrophe.
"""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value):
        return value
