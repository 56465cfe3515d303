"""Deciding a request: approve with an optional note, refuse with a reason, or the requester
withdraws it. Access requests and ownership claims decide alike, so the page forms, the API
serializers and the rule that dispatches a page's POST live here once; each app's service
functions do the work.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from rest_framework import serializers

from .api import TakesOnlyItsFields
from .service_forms import submit

APPROVE, REJECT, CANCEL = "approve", "reject", "cancel"
REASON_MAX = 500
LIST_STATES = ("pending", "approved", "rejected", "cancelled", "all")


class NoteForm(forms.Form):
    reason = forms.CharField(label="Note (optional)", max_length=REASON_MAX, required=False)


class RefusalForm(forms.Form):
    reason = forms.CharField(label="Why not", max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}))


class NoteSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True, default="", help_text="an optional note")


class RefusalSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, help_text="why not: the requester reads this")


@dataclass
class Decision:
    """The outcome of a page's POST: what the service returned (None if nothing was done) and
    the three forms, the submitted one bound and carrying its errors."""

    done: object
    approve_form: forms.Form
    reject_form: forms.Form
    cancel_form: forms.Form

    def context(self) -> dict:
        # A refusal for something that no longer waits has no form left on the page to sit on:
        # it is shown above the decision instead.
        refusal = [e for f in (self.approve_form, self.reject_form, self.cancel_form) if f.is_bound for e in f.non_field_errors()]
        return {"approve_form": self.approve_form, "reject_form": self.reject_form, "cancel_form": self.cancel_form, "refusal": refusal}


def decide(
    request, *, waiting: bool, may_decide: bool, may_cancel: bool, act: dict[str, Callable], said: dict[str, Callable],
    stage: str | None = None, may_decide_stage: Callable[[str], bool] | None = None,
) -> Decision:
    """Dispatch the page's POST (field `decision`) to act[decision](**form data); on success,
    flash said[decision](result). 403 when this person may not do what they posted to something
    still waiting; once it no longer waits (a second click, a colleague faster), the service
    answers, and its "no longer waits" lands on the form.

    Where a request passes through stages, the page posts the stage it showed (field `stage`):
    a colleague who decided that stage first moved the request on, and the later click of a
    person who decides that stage (may_decide_stage) is told so and does nothing, rather than a
    403 for a stage they never saw. Anyone else posting a stage is refused as before."""
    deciding = request.POST.get("decision", "") if request.method == "POST" else ""
    seen = request.POST.get("stage", "") if request.method == "POST" else ""
    moved_on = bool(
        waiting and stage and seen and seen != stage and deciding != CANCEL and may_decide_stage and may_decide_stage(seen)
    )
    if request.method == "POST" and waiting and not moved_on and not (may_cancel if deciding == CANCEL else may_decide):
        raise PermissionDenied
    data = request.POST or None
    decision = Decision(
        None,
        NoteForm(data if deciding == APPROVE else None, prefix=APPROVE),
        RefusalForm(data if deciding == REJECT else None, prefix=REJECT),
        NoteForm(data if deciding == CANCEL else None, prefix=CANCEL),
    )
    form = {APPROVE: decision.approve_form, REJECT: decision.reject_form, CANCEL: decision.cancel_form}.get(deciding)
    if form is not None and moved_on:
        form.add_error(None, f"Someone decided the {seen} stage while you were reading it; it now waits at the {stage} stage. Nothing was done.")
    elif form is not None:
        decision.done = submit(form, lambda cleaned: act[deciding](**cleaned))
        if decision.done:
            messages.success(request, said[deciding](decision.done))
    return decision


def list_filters(request, *, views, waiting_count: Callable[[], int], states=LIST_STATES) -> tuple[str, str]:
    """A request list's ?view= and ?state=. An unknown or missing view opens on what waits for
    this person if anything does, else on everything they may see; an unknown state is "all"."""
    view = request.GET.get("view", "")
    if view not in views:
        view = "waiting" if waiting_count() else "all"
    state = request.GET.get("state", "all")
    return view, state if state in states else "all"
