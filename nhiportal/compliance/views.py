"""Compliance pages: the controls with their live evidence, the framework catalogue with what
covers each entry, and the exports. For those who read everything (compliance, reviewers,
security admins): the evidence names identities across the whole inventory."""

import json
from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from inventory.charts import Bar, bar_chart
from nhiportal.csv_cells import csv_download
from nhiportal.people.roles import sees_everything

from . import controls as catalogue_controls
from . import selectors
from .catalogue import frameworks
from .evidence import FAIL, PASS, WARN
from .evidence_pack import PackFailed, evidence_pack
from .exports import (
    ATTESTATION_REVIEW_COLUMNS,
    EXPOSURE_COLUMNS,
    OWNERSHIP_CLAIM_COLUMNS,
    PROVENANCE_HEADER,
    TASK_APPROVAL_COLUMNS,
    as_json,
    file_stamp,
    provenance,
    write_csv,
    write_history_csv,
)
from .models import ComplianceSnapshot
from .oscal import assessment_results_for
from .selectors import snapshot_history


def _may_read(request) -> None:
    if not sees_everything(request.user):
        raise PermissionDenied("Compliance evidence is open to compliance staff, reviewers and security admins.")


def _strip(history, control_id) -> list[tuple]:
    """(when, status) of one control across the snapshots, oldest first; "none" before it existed."""
    return [(snapshot.taken_at, snapshot.results.get(control_id, {}).get("status", "none")) for snapshot in history]


def _tally(assessments) -> dict:
    return {status: sum(a.result.status == status for a in assessments) for status in (PASS, WARN, FAIL)}


@login_required
@require_safe
def overview(request):
    _may_read(request)
    return _overview_page(request, EvidencePackForm(initial={"since": timezone.localdate() - timedelta(days=PACK_DAYS)}))


def _overview_page(request, pack_form, *, status=200):
    """The compliance page; an evidence pack asked with a bad day comes back here with the error at its field."""
    assessments = catalogue_controls.assess()
    tally = _tally(assessments)
    labels = {PASS: ("Pass", "fill-allow"), WARN: ("Needs a look", "fill-suspended"), FAIL: ("Fail", "fill-deny")}
    chart = bar_chart([Bar(labels[s][0], n, labels[s][1]) for s, n in tally.items()], title="Controls by status")
    history = snapshot_history()
    rows = [(a, _strip(history, a.control.id)) for a in assessments]
    return render(request, "compliance/overview.html", {
        "rows": rows, "tally": tally, "chart": chart, "history": history,
        "snapshots": ComplianceSnapshot.objects.count(),
        "pack_form": pack_form,
    }, status=status)


@login_required
@require_safe
def control_detail(request, control_id):
    _may_read(request)
    control = catalogue_controls.control_get(control_id)
    if control is None:
        by_number = catalogue_controls.control_by_number(control_id)
        if by_number is None:
            raise Http404("No such control")
        return redirect("compliance:control-detail", control_id=by_number.id)
    [assessment] = catalogue_controls.assess([control])
    return render(request, "compliance/control_detail.html", {"a": assessment, "strip": _strip(snapshot_history(), control.id)})


@login_required
@require_safe
def framework_list(request):
    _may_read(request)
    status_of = {a.control.id: a.result.status for a in catalogue_controls.assess()}
    served = catalogue_controls.coverage()
    rows = []
    for framework in frameworks():
        entries = [(entry, [(c, status_of[c.id]) for c in served.get(entry.id, [])]) for entry in framework.entries]
        covered = sum(bool(cs) for _e, cs in entries)
        rows.append({"framework": framework, "entries": entries, "covered": covered,
                     "percent": round(100 * covered / len(entries))})
    chart = bar_chart(
        [Bar(r["framework"].short, r["percent"], "fill-brand", f"{reverse('compliance:framework-list')}#{r['framework'].id}") for r in rows],
        title="Entries covered by a control (%)",
    )
    return render(request, "compliance/framework_list.html", {"rows": rows, "chart": chart})


class EvidencePackForm(forms.Form):
    since = forms.DateField(
        label="Since", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Policy decisions, audit events, leak reports, task approvals, ownership claims, attestations, campaigns and access reviews from this day on.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The browser's picker then offers no day the pack would refuse; read per form, as today moves.
        self.fields["since"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_since(self):
        since = self.cleaned_data["since"]
        if since > timezone.localdate():
            raise forms.ValidationError("Choose a day that has begun.")
        return since


PACK_DAYS = 90  # the period a pack covers unless asked otherwise: a quarter


@require_GET
@login_required
def evidence_pack_download(request):
    """The evidence pack (nhiportal/compliance/evidence_pack.py) as a zip."""
    _may_read(request)
    form = EvidencePackForm(request.GET or {"since": timezone.localdate() - timedelta(days=PACK_DAYS)})
    if not form.is_valid():
        return _overview_page(request, form, status=400)
    try:
        pack, filename = evidence_pack(request, since=form.cleaned_data["since"])
    except PackFailed as failure:
        return HttpResponse(str(failure), status=503, content_type="text/plain; charset=utf-8")
    return FileResponse(pack, as_attachment=True, filename=filename, content_type="application/zip")


@login_required
@require_safe
def history_export(request):
    _may_read(request)
    now = timezone.now()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    write_history_csv(ComplianceSnapshot.objects.order_by("taken_at").iterator(), response, now)
    response["Content-Disposition"] = f'attachment; filename="nhi-compliance-history-{file_stamp(now)}.csv"'
    return response


@login_required
@require_safe
def export(request, fmt):
    _may_read(request)
    now = timezone.now()
    assessments = catalogue_controls.assess(now=now)
    stamp = file_stamp(now)
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        write_csv(assessments, now, response)
    elif fmt == "oscal.json":
        document = assessment_results_for(request, assessments, now)
        response = HttpResponse(json.dumps(document, indent=2), content_type="application/json")
    else:
        response = HttpResponse(json.dumps(as_json(assessments, now), indent=2, default=str), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="nhi-compliance-{stamp}.{fmt}"'
    return response


class SinceForm(forms.Form):
    since = forms.DateField(required=False)


EXPORT_CHUNK = 2000


def _with_approval_reasons(tasks):
    """Each task with `approval_reason` from its audit event, a chunk at a time (one query each)."""
    chunk = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) == EXPORT_CHUNK:
            yield from _named_reasons(chunk)
            chunk = []
    yield from _named_reasons(chunk)


def _named_reasons(tasks):
    reasons = selectors.approval_reasons([task.pk for task in tasks]) if tasks else {}
    for task in tasks:
        task.approval_reason = reasons.get(str(task.pk), "")
    return tasks


# What each record export reads, its columns, and how its rows are completed.
RECORDS = {
    "exposures": (selectors.exposures, EXPOSURE_COLUMNS, None),
    "task-approvals": (selectors.task_approvals, TASK_APPROVAL_COLUMNS, _with_approval_reasons),
    "ownership-claims": (selectors.ownership_claims, OWNERSHIP_CLAIM_COLUMNS, None),
    "attestation-reviews": (selectors.attestation_reviews, ATTESTATION_REVIEW_COLUMNS, None),
}


@login_required
@require_safe
def record_export(request, record):
    """Leak reports, task approvals, ownership claims or attestation reviews as CSV, every row
    (or those since `?since=YYYY-MM-DD`), oldest first: the records NHIP-01, 03, 10, 11 and 12 rest on."""
    _may_read(request)
    form = SinceForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(form.errors.as_text(), content_type="text/plain; charset=utf-8")
    read, columns, complete = RECORDS[record]
    rows = read(since=form.cleaned_data["since"]).iterator(chunk_size=EXPORT_CHUNK)
    if complete is not None:
        rows = complete(rows)
    now = timezone.now()
    made = provenance(now)
    return csv_download(
        [name for name, _ in columns] + PROVENANCE_HEADER, ([cell(row) for _, cell in columns] + made for row in rows),
        f"nhi-{record}-{file_stamp(now)}.csv",
    )
