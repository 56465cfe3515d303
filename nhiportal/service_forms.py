"""Forms in front of service functions: a service's refusal lands on the form, next to its field.

Every app's views submit forms the same way, so the rule lives here once.
"""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's refusal on the form: next to the field it names, else above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def submit(form: forms.Form, write: Callable, *, on_refusal: Callable | None = None):
    """What write(cleaned_data) returned if the form was valid and the service agreed.

    None otherwise, with the reasons on the form; on_refusal(form, error) may tidy the form
    after a refusal (e.g. blank a field that must not be echoed back); error is None when the
    form itself refused the input.
    """
    if not form.is_valid():
        if on_refusal is not None:
            on_refusal(form, None)
        return None
    try:
        return write(form.cleaned_data)
    except ValidationError as error:
        apply_service_errors(form, error)
        if on_refusal is not None:
            on_refusal(form, error)
        return None


def bulk_submit(request, form: forms.Form, write: Callable, *, nothing: str):
    """A list's bulk action (tick rows, say why, submit): what write(cleaned_data) returned, or
    None with each reason flashed as a message, since the action has no page of its own to show
    a form on. `nothing` says what did not happen ("Nothing was suspended")."""
    if not form.is_valid():
        for name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[name].label or name.capitalize()}: {error}")
        return None
    try:
        return write(form.cleaned_data)
    except ValidationError as error:  # one row changed meanwhile: the service undid them all
        messages.error(request, f"{nothing}: {' '.join(error.messages)}")
        return None


class _BulkAction(forms.Form):
    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.ticked].queryset = choices


def bulk_action_form(ticked: str, ids, *, noun: str, plural: str, verb: str, reason_required: bool = True):
    """A list's bulk action form: the rows ticked (a multiple choice named `ticked`, over keys
    `ids` vets: IdsOnly or UuidsOnly) and why, recorded on each (optional if not
    `reason_required`). `choices` at construction is every row the person may act on."""
    field_class = type(f"{ticked.capitalize()}ChoiceField", (ids, forms.ModelMultipleChoiceField), {})
    refused = f"{'An' if noun[0] in 'aeiou' else 'A'} {noun} ticked is not one you may {verb}."
    return type(f"{ticked.capitalize()}BulkForm", (_BulkAction,), {
        "ticked": ticked,
        ticked: field_class(
            queryset=None,
            error_messages={"required": f"Tick at least one {noun}.", "invalid_choice": refused, "invalid_pk_value": refused},
        ),
        "reason": forms.CharField(max_length=200, required=reason_required, help_text=f"Recorded in the audit log of each {noun}."),
        "__doc__": f"Which {plural} to {verb}, and why.",
    })
