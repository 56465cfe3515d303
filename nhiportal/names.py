"""What a name may hold: what its reader sees.

An identity's, a service's or an API token's name shows on pages, in mail subjects, in chat
lines and in the audit trail. A line break there forges a second line (or a mail header), and
an unseen character (a zero-width space, a right-to-left override) makes one name pass for
another on a reviewer's queue, or reorders the text after it. Such names are refused where
they are given, next to the field.

An identity's name is also what tells one agent from another, so a name that only looks like
another is refused too: one whose letters mix scripts ("сontract-bot" with a Cyrillic с), or
with a dash drawn as the hyphen-minus but another character (U+2010). Unicode's identifier
rule (UTS #39, "highly restrictive") is followed: one script, or Latin with Han and the
Japanese kana, with Han and Bopomofo, or with Han and Hangul."""

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


# Where the Chinese, Japanese and Korean scripts are written together, and with Latin.
_SCRIPTS_WRITTEN_TOGETHER = (
    {"LATIN", "HAN", "HIRAGANA", "KATAKANA"},
    {"LATIN", "HAN", "BOPOMOFO"},
    {"LATIN", "HAN", "HANGUL"},
)
# Drawn as the hyphen-minus in most fonts; the en and em dashes are visibly longer.
_HYPHEN_LOOK_ALIKES = {"\u2010", "\u2011", "\u2012", "\u2043", "\u2212", "\ufe63"}


def _script(letter: str) -> str:
    """The script a letter's Unicode name begins with: "LATIN SMALL LETTER A", "CJK UNIFIED..."."""
    script = unicodedata.name(letter, "").split(" ", 1)[0]
    return "HAN" if script == "CJK" else script


def refuse_look_alikes(field: str, name: str) -> None:
    """Raise a ValidationError on `field` when `name` (NFKC) could pass for another name."""
    dash = next((c for c in name if c in _HYPHEN_LOOK_ALIKES), None)
    if dash is not None:
        raise ValidationError({field: f"Write the hyphen as - : U+{ord(dash):04X} ({unicodedata.name(dash).lower()}) only looks like it."})
    # Letters only: digits, punctuation and spaces are shared by every script; a modifier
    # letter (Lm) marks another letter.
    scripts = {_script(c) for c in name if unicodedata.category(c) in ("Lu", "Ll", "Lt", "Lo")}
    if len(scripts) > 1 and not any(scripts <= together for together in _SCRIPTS_WRITTEN_TOGETHER):
        named = " and ".join(sorted(s.title() for s in scripts))
        raise ValidationError({field: f"Write the name in one script: it mixes {named} letters, as a look-alike of another name would."})
