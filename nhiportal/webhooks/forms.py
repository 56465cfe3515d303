from django import forms

from .events import CHOICES
from .models import PayloadFormat


class EndpointForm(forms.Form):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https", help_text=(
        "Where the portal POSTs each event (JSON, signed). A user and password in it (https://user:password@host/…) "
        "are sent as Basic auth and shown as ***: leave the *** to keep the password."
    ))
    description = forms.CharField(max_length=200, required=False, help_text="What receives it, e.g. “SOC alerts in Slack”.")
    categories = forms.MultipleChoiceField(
        label="Events", choices=CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    format = forms.ChoiceField(
        choices=PayloadFormat.choices, initial=PayloadFormat.STANDARD, label="Format",
        help_text="A chat channel's incoming webhook takes a line of text; a SIEM or your own receiver, the signed record.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Send events")


class DeleteForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False)
