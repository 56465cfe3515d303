from django import forms

from .models import TokenPurpose
from .roles import is_security_admin
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
    purpose = forms.ChoiceField(
        label="For",
        choices=TokenPurpose.choices,
        initial=TokenPurpose.API,
        help_text="Directory sync: give it to your identity provider's SCIM provisioning (base URL /scim/v2/). "
        "It creates, updates and deactivates people, and nothing else.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not is_security_admin(user):
            del self.fields["purpose"]  # everyone else's tokens are for the API
