"""How much a person may write in one free-text field: a purpose, an offboarding plan, a
justification, a reason, instructions. A few paragraphs; unbounded, one pasted log could store
megabytes that every page, export, mail and audit event then carries."""

from django import forms
from django.core.validators import MaxLengthValidator

MAX_CHARS = 4000


def limit(field: forms.CharField) -> None:
    """Give a form field the limit, as forms.CharField(max_length=MAX_CHARS) would, for fields
    a ModelForm built from an unbounded TextField."""
    field.max_length = MAX_CHARS
    field.validators.append(MaxLengthValidator(MAX_CHARS))
    field.widget.attrs["maxlength"] = str(MAX_CHARS)
