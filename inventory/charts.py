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
