from django import forms

from .services import MAX_TOKEN_DAYS


class APITokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “inventory sync script”.")
    days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        initial=90,
        help_text=f"1 to {MAX_TOKEN_DAYS} days. Shorter is safer; create a new one when it runs out.",
    )
