"""Import identities from a CSV file (inventory/imports.py): the page and its template file."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from . import selectors
from .imports import MAX_BYTES, MAX_ROWS, ImportRefused, identities_import, template_csv


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"One identity per line, at most {MAX_ROWS}; the first line names the columns (see the template).",
    )


def _may_import(request) -> None:
    if not selectors.may_register(request.user):
        raise PermissionDenied("Owners and security admins register identities.")


@login_required
def identity_import(request):
    _may_import(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            # One byte past the limit is enough to refuse it: never read a huge upload whole.
            outcome = identities_import(actor=request.user, content=form.cleaned_data["file"].read(MAX_BYTES + 1))
        except ImportRefused as refusal:
            form.add_error("file", str(refusal))
        else:
            if not outcome.problems:
                count = len(outcome.registered)
                messages.success(request, f"Imported {count} identit{'y' if count == 1 else 'ies'}; each starts as registered, to activate once it has what it needs.")
                return redirect(f"{reverse('inventory:identity-list')}?status=registered")
            problems = outcome.problems
            form.add_error("file", f"Nothing was imported: {len(problems)} problem{'s' if len(problems) != 1 else ''} below. Fix the file and import it again.")
    status = 400 if form.is_bound else 200
    return render(request, "inventory/identity_import.html", {"form": form, "problems": problems, "max_rows": MAX_ROWS}, status=status)


@login_required
def identity_import_template(request):
    _may_import(request)
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="identities-template.csv"'
    return response
