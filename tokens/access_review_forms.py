from django import forms

from nhiportal import free_text

from .access_reviews import LONGEST_DAYS
from .models import ReviewDecision, Service


class AccessReviewForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="What auditors will call it, e.g. “Q3 2026 CRM access”.")
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), required=False, empty_label="Every service",
        help_text="The grants reviewed: every live grant on this service, or on all.",
    )
    due = forms.DateField(
        label="Decide by", widget=forms.DateInput(attrs={"type": "date"}),
        help_text=f"Decisions are taken until the end of that day (UTC); the round closes after it. At most {LONGEST_DAYS} days ahead.",
    )
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=free_text.MAX_CHARS, help_text="What reviewers should check."
    )
    revoke_unreviewed = forms.BooleanField(
        required=False, label="Revoke what nobody decided when it closes",
        help_text="Silence then ends access, as auditors prefer; otherwise undecided grants stay and are listed as missed.",
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.choices)
    reason = forms.CharField(max_length=300, required=False)


class KeepSeveralForm(forms.Form):
    """The grants ticked to keep; `decidable` (at construction) is every item the person may decide."""

    item = forms.ModelMultipleChoiceField(
        queryset=None, label="Grants",
        error_messages={"required": "Tick at least one grant.", "invalid_choice": "A grant ticked is not one you may decide."},
    )

    def __init__(self, *args, decidable, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = decidable
