"""CSV written by the portal: streamed, and cells a spreadsheet would run as formulas defused.

Names, purposes and notes are typed in by people; a cell starting with = + - @ (or a tab or
carriage return) opens as a formula in Excel or Sheets (OWASP "CSV injection"), so such a
cell gets a leading apostrophe.
"""

import csv
from collections.abc import Iterable
from itertools import chain

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value):
        return value


def csv_download(header: list[str], rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """A CSV attachment written as it is read: the header, then each row's cells defused."""
    writer = csv.writer(Echo())
    lines = chain([header], ([safe_cell(value) for value in row] for row in rows))
    response = StreamingHttpResponse((writer.writerow(line) for line in lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
