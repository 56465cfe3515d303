"""Small charts drawn on the server as SVG: no JavaScript, no inline styles (the CSP forbids
both), colours from portal.css classes such as `fill-active`."""

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    css_class: str  # a portal.css fill class, e.g. "fill-active"
    url: str = ""  # where clicking the bar leads, if anywhere


LABEL_WIDTH = 110
VALUE_WIDTH = 48
BAR_HEIGHT = 22
GAP = 10


def bar_chart(bars: list[Bar], *, title: str, width: int = 480) -> SafeString:
    """A horizontal bar chart, one row per bar, lengths relative to the largest value."""
    track = width - LABEL_WIDTH - VALUE_WIDTH
    largest = max((bar.value for bar in bars), default=0)
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    rows = []
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = round(track * bar.value / largest) if largest else 0
        row = format_html(
            '<text class="bar-label" x="0" y="{}" dominant-baseline="middle">{}</text>'
            '<rect class="{}" x="{}" y="{}" width="{}" height="{}" rx="3"></rect>'
            '<text class="bar-value" x="{}" y="{}" dominant-baseline="middle">{}</text>',
            y + BAR_HEIGHT // 2,
            bar.label,
            bar.css_class,
            LABEL_WIDTH,
            y,
            length,
            BAR_HEIGHT,
            LABEL_WIDTH + length + 6,
            y + BAR_HEIGHT // 2,
            bar.value,
        )
        if bar.url:
            row = format_html('<a href="{}" aria-label="{}: {}">{}</a>', bar.url, bar.label, bar.value, row)
        rows.append((row,))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="{}" aria-label="{}">'
        "<title>{}</title>{}</svg>",
        width,
        height,
        # A picture with links in it is a group of them to assistive technology, not one image.
        "group" if any(bar.url for bar in bars) else "img",
        title,
        title,
        format_html_join("", "{}", rows),
    )


@dataclass(frozen=True)
class Column:
    label: str  # under the column, e.g. a day of the month
    parts: tuple  # (value, portal.css fill class) pairs, stacked from the bottom
    title: str  # what hovering the column says, e.g. "2026-11-28: 120 issued, 3 refused"


COLUMN_AREA = 110  # the columns' height; the labels go below
COLUMN_LABELS = 18


def column_chart(columns: list[Column], *, title: str, width: int = 480) -> SafeString:
    """A column chart over time, each column's parts stacked, heights relative to the tallest."""
    slot = width / max(len(columns), 1)
    bar = max(slot * 0.7, 2)
    tallest = max((sum(v for v, _ in c.parts) for c in columns), default=0)
    drawn = []
    for index, column in enumerate(columns):
        x = round(index * slot + (slot - bar) / 2, 1)
        top = COLUMN_AREA
        rects = []
        for value, css_class in column.parts:
            height = round(COLUMN_AREA * value / tallest, 1) if tallest else 0
            if height:
                top -= height
                rects.append(format_html('<rect class="{}" x="{}" y="{}" width="{}" height="{}" rx="2"></rect>', css_class, x, round(top, 1), round(bar, 1), height))
        drawn.append((format_html(
            '<g><title>{}</title>{}<text class="bar-label" x="{}" y="{}" text-anchor="middle">{}</text></g>',
            column.title, format_html_join("", "{}", ((r,) for r in rects)), round(x + bar / 2, 1), COLUMN_AREA + 14, column.label,
        ),))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}"><title>{}</title>{}</svg>',
        width, COLUMN_AREA + COLUMN_LABELS, title, title, format_html_join("", "{}", drawn),
    )
