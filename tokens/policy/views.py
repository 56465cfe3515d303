"""The policy pages. Thin: selectors read, services write, simulate/replay judge without writing."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import InvalidPage, Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from inventory import selectors as inventory_selectors
from nhiportal.csv_cells import csv_download
from nhiportal.ids import as_id
from nhiportal.pages import page_of
from nhiportal.service_forms import apply_service_errors

from . import selectors, services
from .access import can_change_policies, can_read_policies, reads_every_version, require
from .cedar_request import AGENT_FACTS, CONTEXT_FACTS, SERVICE_FACTS
from .compiled import compiled_version
from .diff import diff_rows
from .examples import default_examples, examples_run
from .filters import DecisionFilter
from .forms import ActivateForm, CompareForm, ModeForm, ReplayForm, SimulatorForm, VersionForm
from .library import RULES, library_json
from .replay import REPLAY_DEFAULT, replay
from .schema import default_policy_text, schema_text
from .simulate import simulate


def _page(queryset, number):
    try:
        return Paginator(queryset, settings.NHI["PAGE_SIZE"]).page(number or 1)
    except InvalidPage as exc:
        raise Http404("No such page") from exc


def _numbered(text: str, problems=()) -> list[dict]:
    """The text's lines, numbered, each with the problems found on it."""
    by_line: dict[int, list[str]] = {}
    for problem in problems:
        if problem.line:
            by_line.setdefault(problem.line, []).append(problem.message)
    return [{"number": n, "text": line, "problems": by_line.get(n, [])} for n, line in enumerate(text.split("\n"), 1)]


def _example_facts() -> list[tuple[str, dict]]:
    return [
        (section, {name: example for name, (_, example) in spec.items()})
        for section, spec in (("principal", AGENT_FACTS), ("service", SERVICE_FACTS), ("context", CONTEXT_FACTS))
    ]


@login_required
@require_safe
def version_list(request):
    require(can_read_policies(request.user))
    versions = selectors.version_list(user=request.user)
    compare = CompareForm(versions=versions) if reads_every_version(request.user) else None
    page_obj = page_of(request, versions)
    return render(
        request,
        "policy/version_list.html",
        {
            "page_obj": page_obj,
            "versions": selectors.with_history(page_obj.object_list),
            "compare": compare,
            "may_change": can_change_policies(request.user),
            "no_active_version": selectors.version_active() is None,
        },
    )


@login_required
@require_safe
def version_detail(request, number):
    require(can_read_policies(request.user))
    version = selectors.version_get(user=request.user, number=number)
    compiled = compiled_version(version)
    results = examples_run(compiled, version.examples)
    context = {
        "version": selectors.with_history([version])[0],
        "lines": _numbered(version.text),
        "results": results,
        "all_pass": all(r.passed for r in results),
        "may_change": can_change_policies(request.user),
        "reads_every_version": reads_every_version(request.user),
        "active": selectors.version_active(),
    }
    if context["may_change"]:
        if not version.is_active:
            context["check"] = services.activation_check(version)
        context["mode_form"] = ModeForm(initial={"mode": version.mode})
    return render(request, "policy/version_detail.html", context)


@login_required
def version_create(request):
    require(can_change_policies(request.user))
    if request.method == "POST":
        form = VersionForm(request.POST)
        if form.is_valid():
            try:
                version = services.policy_version_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, f"Saved version {version.number}. Check its examples, then activate it.")
                return redirect("policy:version-detail", number=version.number)
    else:
        base = _version_to_start_from(request)
        if base is None:
            initial = VersionForm.initial_from(default_policy_text(), default_examples())
        else:
            initial = {**VersionForm.initial_from(base.text, base.examples), "mode": base.mode}
        form = VersionForm(initial=initial)
    text = form.data.get("text", "") if form.is_bound else form.initial["text"]
    return render(
        request,
        "policy/version_form.html",
        {
            "form": form,
            "lines": _numbered(text.replace("\r\n", "\n"), form.problems) if form.problems else None,
            "schema": schema_text(),
            "example_facts": _example_facts(),
            "library": RULES,
            "library_json": library_json(),
        },
        status=400 if form.is_bound else 200,
    )


def _version_to_start_from(request):
    """?from=N, else the active version; None: start from the shipped default."""
    number = as_id(request.GET.get("from"))
    if number is not None:
        return selectors.version_get(user=request.user, number=number)
    return selectors.version_active()


def _activation_form(data, check, *, confirmed: bool = True) -> ActivateForm:
    return ActivateForm(
        data, needs_reason=confirmed and check.needs_confirmation, denies_everything=check.report.denies_everything
    )


def _activation_page(request, version, check, form, *, status=200):
    selectors.with_names([change.decision for change in check.report.changes])
    return render(
        request, "policy/version_activate.html",
        {"version": version, "check": check, "report": check.report, "form": form, "active": selectors.version_active()},
        status=status,
    )


def _activated(request, version, reason: str):
    messages.success(request, f"Version {version.number} is now active." + (f" Reason kept: {reason}" if reason else ""))
    return redirect("policy:version-detail", number=version.number)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def version_activate(request, number):
    """Activation, as offboarding: a version whose replay changes no recent outcome activates
    from its page's button at once; one that would decide recent requests otherwise (or deny
    every one) is activated from this page, which shows what would change and asks why."""
    require(can_change_policies(request.user))
    version = selectors.version_get(user=request.user, number=number)
    if version.is_active:
        messages.info(request, f"Version {version.number} is already active.")
        return redirect("policy:version-detail", number=version.number)
    check = services.activation_check(version)
    if check.problems or check.failing_examples:
        messages.error(request, " ".join(check.problems) or (
            f"{len(check.failing_examples)} example(s) do not pass: {', '.join(check.failing_examples)}. "
            "A version is activated only when all its examples pass."
        ))
        return redirect("policy:version-detail", number=version.number)
    if request.method != "POST":
        return _activation_page(request, version, check, _activation_form(None, check))
    confirmed = bool(request.POST.get("confirmed"))
    if not confirmed and check.needs_confirmation:
        messages.warning(request, "Replay says recent requests would be decided otherwise: check what changes and say why.")
        return redirect("policy:version-activate", number=version.number)
    form = _activation_form(request.POST, check, confirmed=confirmed)
    if not form.is_valid():
        return _activation_page(request, version, check, form, status=400)
    reason = form.cleaned_data["reason"]
    try:
        services.policy_version_activate(
            actor=request.user, version=version, reason=reason, changes_confirmed=confirmed,
            confirm_deny_all=form.cleaned_data.get("confirm_deny_all", False),
        )
    except services.ActivationRefused as refusal:
        if not refusal.needs_confirmation:
            messages.error(request, refusal.message)
            return redirect("policy:version-detail", number=version.number)
        if not confirmed:  # outcomes changed since the version page was read
            messages.warning(request, refusal.message)
            return redirect("policy:version-activate", number=version.number)
        # What replay says changed since this page was read: show it again, with the refusal.
        check = services.activation_check(version)
        form = _activation_form(request.POST, check)
        form.is_valid()
        form.add_error("confirm_deny_all" if "confirm_deny_all" in form.fields else None, refusal.message)
        return _activation_page(request, version, check, form, status=400)
    except ValidationError as error:
        check = services.activation_check(version)
        form = _activation_form(request.POST, check)
        if form.is_valid():  # else the form says it already (a reason is now needed)
            apply_service_errors(form, error)
        return _activation_page(request, version, check, form, status=400)
    return _activated(request, version, reason)


@login_required
@require_POST
def version_mode(request, number):
    require(can_change_policies(request.user))
    version = selectors.version_get(user=request.user, number=number)
    form = ModeForm(request.POST)
    if form.is_valid():
        services.policy_version_mode_set(actor=request.user, version=version, mode=form.cleaned_data["mode"])
        messages.success(request, f"Version {version.number} now runs in {version.get_mode_display().lower()} mode.")
    else:
        messages.error(request, "Choose enforce or log only.")
    return redirect("policy:version-detail", number=version.number)


@login_required
@require_safe
def version_diff(request):
    require(reads_every_version(request.user))
    versions = selectors.version_list(user=request.user)
    form = CompareForm(request.GET or None, versions=versions)
    rows = None
    if form.is_valid():
        rows = diff_rows(form.cleaned_data["old"].text, form.cleaned_data["new"].text)
    return render(request, "policy/version_diff.html", {"form": form, "rows": rows})


@login_required
@require_safe
def version_replay(request, number):
    require(reads_every_version(request.user))
    version = selectors.version_get(user=request.user, number=number)
    form = ReplayForm(request.GET or None)
    report = limit = None
    # A limit out of range is shown as the form's error, not answered with another limit's replay.
    if not form.is_bound or form.is_valid():
        limit = (form.cleaned_data.get("limit") if form.is_bound else None) or REPLAY_DEFAULT
        report = replay(compiled_version(version), limit=limit)
        selectors.with_names([change.decision for change in report.changes])
    return render(
        request, "policy/version_replay.html", {"version": version, "form": form, "report": report, "limit": limit}
    )


@login_required
@require_safe
def simulator(request):
    require(can_read_policies(request.user))
    versions = selectors.version_list(user=request.user)
    data = request.GET if "service" in request.GET else None
    form = SimulatorForm(data, user=request.user, versions=versions, initial={"identity": request.GET.get("identity", "")})
    simulation = None
    if form.is_valid():
        data = form.cleaned_data
        simulation = simulate(
            identity=data["identity"],
            service=data["service"],
            scopes=data["scopes"],
            action=data["action"],
            intent=data["intent"],
            sensitivity=data["sensitivity"],
            requested_ttl=data["requested_ttl"],
            human_approval=data["human_approval"],
            sender_constrained=data["sender_constrained"],
            source_address=data["source_address"],
            credential=data["credential"],
            new_network=data["new_network"],
            version=data["version"],
        )
    return render(
        request,
        "policy/simulator.html",
        {
            "form": form,
            "simulation": simulation,
            "request_json": json.dumps(simulation.request.as_json(), indent=2) if simulation else "",
        },
    )


@login_required
@require_safe
def decision_list(request):
    require(can_read_policies(request.user))
    decisions = selectors.decision_list(user=request.user)
    filter_ = DecisionFilter(request.GET, queryset=decisions)
    page = _page(filter_.qs if filter_.is_valid() else decisions.none(), request.GET.get("page"))
    return render(
        request,
        "policy/decision_list.html",
        {
            "filter": filter_,
            "page_obj": page,
            "decisions": selectors.with_names(list(page.object_list)),
            "filtering": any(v for k, v in request.GET.items() if k != "page"),
        },
    )


DECISION_CSV_COLUMNS = (
    "at", "action", "identity_id", "identity", "service", "decision", "enforced", "mode", "deciding", "errors",
    "version", "source_address", "eval_ms",
)
EXPORT_CHUNK = 2000


def _decision_rows(decisions):
    """The CSV rows, named a chunk at a time (two queries per chunk, whatever its size)."""
    chunk = []
    for decision in decisions.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(decision)
        if len(chunk) == EXPORT_CHUNK:
            yield from (_decision_cells(d) for d in selectors.with_names(chunk))
            chunk = []
    yield from (_decision_cells(d) for d in selectors.with_names(chunk))


def _decision_cells(d) -> list:
    context = d.request.get("context") if isinstance(d.request, dict) else None
    return [
        d.at.isoformat(), d.action, d.identity_id or "", d.identity_name, d.service_name, d.decision, d.enforced, d.mode,
        " ".join(map(str, d.policy_ids)), " | ".join(map(str, d.errors)), d.version.number if d.version else "",
        context.get("source_address", "") if isinstance(context, dict) else "", d.eval_ms,
    ]


@login_required
@require_safe
def decision_export(request):
    """Every decision the current filters show (all pages, newest first), as CSV."""
    require(can_read_policies(request.user))
    filter_ = DecisionFilter(request.GET, queryset=selectors.decision_list(user=request.user))
    if not filter_.is_valid():
        return HttpResponseBadRequest(filter_.errors.as_text(), content_type="text/plain; charset=utf-8")
    return csv_download(list(DECISION_CSV_COLUMNS), _decision_rows(filter_.qs), "decisions.csv")


@login_required
@require_safe
def decision_detail(request, pk):
    require(can_read_policies(request.user))
    decision = selectors.with_names([selectors.decision_get(user=request.user, pk=pk)])[0]
    return render(
        request,
        "policy/decision_detail.html",
        {
            "decision": decision,
            "request_json": json.dumps(decision.request, indent=2, cls=DjangoJSONEncoder),
            "version_visible": decision.version is not None
            and selectors.version_list(user=request.user).filter(pk=decision.version_id).exists(),
        },
    )


@login_required
@require_safe
def identity_decisions_panel(request, pk):
    identity = inventory_selectors.identity_get(user=request.user, pk=pk)
    return render(
        request,
        "policy/partials/identity_decisions.html",
        {"identity": identity, "decisions": selectors.identity_decisions(identity)},
    )
