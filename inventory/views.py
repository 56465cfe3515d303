"""The inventory pages. Thin: selectors read (through the visibility gate), services write."""

import copy
from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpResponseBadRequest, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_http_methods, require_safe

from nhiportal.audit.selectors import event_changes, events_for_identity
from nhiportal.people.roles import OWNER, is_security_admin, roles_of, sees_everything
from nhiportal.csv_cells import csv_download
from nhiportal.service_forms import apply_service_errors, submit
from nhiportal.sweep.selectors import stalled_steps
from nhiportal.sweep.steps import STEPS

from . import attestation_reviews, bulk, identity_picker, owner_roles, selectors, services, token_selectors, visibility
from .charts import Bar, bar_chart
from .filters import IdentityFilter
from .forms import (
    KEEP_PREVIOUS,
    AttestForm,
    BulkOwnersForm,
    BulkReactivateForm,
    BulkSuspendForm,
    EditForm,
    OffboardForm,
    OwnersForm,
    RegisterForm,
    SuspendForm,
    TransitionForm,
)
from .lifecycle import ACTION_LABELS, ACTIVATE, REACTIVATE, SUSPEND, allowed_actions, missing_for_activation
from .claims import may_claim
from .models import AIIdentity, ClaimState, OwnerRole, Ownership, Status
from .lapses import lapse_date
from .orphans import suspension_due
from .people_picker import person_label
from .risk import LEVEL_LABELS

HISTORY_PAGE_SIZE = 25
DASHBOARD_LIST_LENGTH = 5
ATTESTATION_HORIZON_DAYS = 14
# Query parameters that shape the list without narrowing it.
PRESENTATION_PARAMS = {"page", "sort"}
RISK_FILLS = {"high": "fill-deny", "medium": "fill-suspended", "low": "fill-registered", "none": "fill-offboarded", "unscored": "fill-unscored"}
# "None" means scored and nothing found; identities the scoring never looked at are told apart.
RISK_LABELS = {**LEVEL_LABELS, "unscored": "Not scored yet"}
# Columns whose first click sorts the most first: the riskiest, not the safest.
DESCENDING_FIRST = {"risk"}
LIST_COLUMNS = [
    ("name", "Name"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("risk", "Risk"),
    ("environment", "Environment"),
    ("", "Primary owner"),
    ("attestation_due", "Attestation due"),
    ("created", "Registered"),
]


def _page(paginator: Paginator, number):
    """The requested page; a page past the end or not a number is a 404, never a 500."""
    try:
        return paginator.page(number or 1)
    except InvalidPage as exc:
        raise Http404("No such page") from exc


def _identity_to_change(request, pk):
    """The identity if the user may change it: 404 if they cannot see it, 403 if they only read it."""
    identity = selectors.identity_page_get(user=request.user, pk=pk)
    if not visibility.can(request.user, visibility.CHANGE, identity):
        raise PermissionDenied
    return identity


def _to_identity(identity):
    return redirect("inventory:identity-detail", pk=identity.pk)


def _refuse_offboarded(request, identity):
    messages.error(request, f"{identity.name} is offboarded; its record is kept as it was.")
    return _to_identity(identity)


def _with_lapse_date(identity):
    identity.lapse_date = lapse_date(identity)
    return identity


# Up to this many stalled steps the dashboard names each; more are summed up by state.
SWEEP_ALERT_NAMES = 5


def _sweep_alert(user) -> dict:
    """Only security admins run the sweep; a stalled one silently stops suspensions and notices."""
    if not is_security_admin(user):
        return {"sweep_stalled": []}
    stalled = stalled_steps()
    tally = Counter(row.badge[1] for row in stalled)
    return {
        "sweep_stalled": stalled,
        "sweep_step_count": len(STEPS),
        "sweep_never_run": tally["never run"],
        "sweep_named": len(stalled) <= SWEEP_ALERT_NAMES,
        "sweep_tally": sorted(tally.items()),
    }


@login_required
@require_safe
def dashboard(request):
    user = request.user
    today = timezone.localdate()
    counts = selectors.status_counts(user=user)
    list_url = reverse("inventory:identity-list")
    bars = [Bar(Status(s).label, n, f"fill-{s}", f"{list_url}?status={s}") for s, n in counts.items()]
    orphaned = selectors.orphaned_identities(user=user)
    due = selectors.attestations_due(user=user, within_days=ATTESTATION_HORIZON_DAYS)
    shown_due = [_with_lapse_date(i) for i in due[: DASHBOARD_LIST_LENGTH * 2]]
    risk_counts = selectors.risk_counts(user=user)
    unscored = risk_counts.pop("unscored")
    risk_bars = [Bar(RISK_LABELS[level], n, RISK_FILLS[level], f"{list_url}?risk={level}&sort=-risk") for level, n in risk_counts.items()]
    if unscored:
        risk_bars.append(Bar(RISK_LABELS["unscored"], unscored, RISK_FILLS["unscored"], f"{list_url}?risk=unscored"))
    context = {
        "status_cards": [(Status(s), n) for s, n in counts.items()],
        "total": sum(counts.values()),
        "chart": bar_chart(bars, title="Identities by status"),
        "risk_chart": bar_chart(risk_bars, title="Identities in service by risk"),
        "unscored_count": unscored,
        "riskiest": selectors.riskiest(user=user, limit=DASHBOARD_LIST_LENGTH),
        "orphaned_count": orphaned.count(),
        "orphaned": orphaned[:DASHBOARD_LIST_LENGTH],
        "overdue_count": due.filter(attestation_due__lt=today).count(),
        "due_soon_count": due.filter(attestation_due__gte=today).count(),
        "due": shown_due,
        # Past their suspension day yet active: the background work that suspends them is not running.
        "overdue_for_suspension": any(i.lapse_date and i.lapse_date < today for i in shown_due),
        "horizon_days": ATTESTATION_HORIZON_DAYS,
        "campaigns_asking": selectors.campaigns_asking(user),
        "recent": selectors.recent_activity(user=user),
        "may_register": selectors.may_register(user),
        "may_claim": may_claim(user),
        "today": today,
        **_my_access_requests(user),
        **_sweep_alert(user),
    }
    return render(request, "inventory/dashboard.html", context)


def _my_access_requests(user) -> dict:
    """The access requests this person asked for, waiting or lately decided: shown to owners
    (who ask for their identities' access), and to anyone else who asked lately."""
    requests, waiting = token_selectors.my_recent_access_requests(user)
    return {
        "my_requests_shown": bool(requests) or OWNER in roles_of(user),
        "my_requests": requests,
        "my_requests_waiting": waiting,
        "my_requests_days": token_selectors.RECENT_REQUEST_DAYS,
    }


# As long as the people directory reads (inventory/people_views.MAX_QUERY_LENGTH).
MAX_QUERY_LENGTH = 100


@never_cache
@login_required
@require_GET
def owner_search(request):
    """The owner pickers' directory: active people matching ?q= who may own an identity (the
    owner or security admin role), as the people directory answers: {results: [{id, label, email}], more}."""
    if not selectors.may_pick_people(request.user):
        raise PermissionDenied
    people, more = selectors.people_matching(request.GET.get("q", "")[:MAX_QUERY_LENGTH], among=owner_roles.people_who_may_own())
    results = [{"id": p.pk, "label": person_label(p), "email": p.email} for p in people]
    return JsonResponse({"results": results, "more": more})


@never_cache
@login_required
@require_GET
def identity_search(request):
    """The identity pickers' search: identities matching ?q= by name or client_id, among those
    the form of ?purpose= offers this person (inventory/identity_picker.py):
    {results: [{id, label, client_id}], more}."""
    among = identity_picker.identities_for(request.user, request.GET.get("purpose", ""))
    if among is None:
        return JsonResponse({"error": f"purpose must be one of: {identity_picker.GRANTABLE}, {identity_picker.REQUESTABLE}."}, status=400)
    found, more = identity_picker.identities_matching(request.GET.get("q", "")[: identity_picker.MAX_QUERY_LENGTH], among)
    return JsonResponse({"results": [identity_picker.search_result(i) for i in found], "more": more})


def _filtered_identities(request) -> IdentityFilter:
    return IdentityFilter(request.GET, queryset=selectors.identity_list(user=request.user))


def _next_sort(key: str, active: bool, descending: bool) -> str:
    if key in DESCENDING_FIRST:
        return key if active and descending else f"-{key}"
    return f"-{key}" if active and not descending else key


def _columns(sort: str) -> list[dict]:
    """Column headers: each sortable one links to its ascending sort, or flips the current one."""
    current = sort or "name"
    columns = []
    for key, label in LIST_COLUMNS:
        active = current.lstrip("-") == key
        descending = active and current.startswith("-")
        columns.append(
            {
                "label": label,
                "sort": _next_sort(key, active, descending) if key else "",
                "active": active,
                "descending": descending,
            }
        )
    return columns


@login_required
@require_safe
def identity_list(request):
    identities = _filtered_identities(request)
    context = {
        "filter": identities,
        "filtering": any(v for k, v in request.GET.items() if k not in PRESENTATION_PARAMS),
        "may_register": selectors.may_register(request.user),
    }
    if not identities.is_valid():
        context["columns"] = _columns("")
        return render(request, "inventory/identity_list.html", context, status=400)
    page_obj = _page(
        Paginator(identities.qs.values_list("pk", flat=True), settings.NHI["PAGE_SIZE"]), request.GET.get("page")
    )
    rows = _with_change_rights(request.user, selectors.identity_rows(list(page_obj.object_list)))
    context.update(
        page_obj=page_obj,
        identities=rows,
        columns=_columns(identities.form.cleaned_data.get("sort") or ""),
        # Bulk actions only for someone who may change a row shown: reviewers and compliance read.
        bulk=any(i.may_change for i in rows),
    )
    return render(request, "inventory/identity_list.html", context)


def _with_change_rights(user, identities: list) -> list:
    """Set identity.may_change (the gate's CHANGE: an owner, a security admin) on a page's rows,
    with one query, so each row offers its box or not."""
    ids = [i.pk for i in identities]
    changeable = set(visibility.restrict(AIIdentity.objects.filter(pk__in=ids), user, visibility.CHANGE).values_list("pk", flat=True))
    for identity in identities:
        identity.may_change = identity.pk in changeable
    return identities


BULK_FORMS = {bulk.SUSPEND: BulkSuspendForm, bulk.REACTIVATE: BulkReactivateForm, bulk.OWNERS: BulkOwnersForm}
BULK_TITLES = {bulk.SUSPEND: "Suspend", bulk.REACTIVATE: "Reactivate", bulk.OWNERS: "Change the primary owner of"}


def _list_url(back: str) -> str:
    """The identity list with the filters and sort the person acted from; not its page number,
    as the rows acted on may have left that page (or the page itself gone)."""
    query = QueryDict(back, mutable=True)
    query.pop("page", None)
    url = reverse("inventory:identity-list")
    return f"{url}?{query.urlencode()}" if query else url


def _identities(n: int) -> str:
    return f"{n} identit{pluralize(n, 'y,ies')}"


def _bulk_perform(request, action: str, data: dict) -> str:
    """Do the batch (inventory/bulk.py) and say what was done."""
    identities = list(data["identity"])
    if action == bulk.SUSPEND:
        done = bulk.identities_suspend(actor=request.user, identities=identities, reason=data["reason"])
        said = (
            f"Suspended {_identities(done['suspended'])}: {done['tokens']} live token{pluralize(done['tokens'])} revoked, "
            f"{done['tasks']} open task{pluralize(done['tasks'])} ended."
        )
        return said + (" Only a security admin reactivates them." if is_security_admin(request.user) else "")
    if action == bulk.REACTIVATE:
        done = bulk.identities_reactivate(actor=request.user, identities=identities, reason=data["reason"])
        return f"Reactivated {_identities(done['reactivated'])}."
    person = data["primary_owner"]
    done = bulk.identities_owners_set(
        actor=request.user, identities=identities, primary_owner=person,
        keep_previous=data["previous_primary"] == KEEP_PREVIOUS, reason=data["reason"],
    )
    said = f"{person_label(person)} is now the primary owner of {_identities(done['changed'])}"
    if done["unchanged"]:
        said += f"; {done['unchanged']} already had them, and {pluralize(done['unchanged'], 'is,are')} left as {pluralize(done['unchanged'], 'it was,they were')}"
    return said + "."


@require_POST
@login_required
def identity_bulk(request, action):
    """The identity list's bulk actions, in two steps on one URL. The list posts the identities
    ticked; this page lists them with what will happen to each and asks why; its button posts
    them again with `confirmed`, and the batch is done, all or nothing, back on the list."""
    form_class = BULK_FORMS[action]
    choices = visibility.restrict(AIIdentity.objects.all(), request.user, visibility.CHANGE)
    form = form_class(request.POST, choices=choices)
    confirmed = request.POST.get("confirmed") == "yes"
    form.is_valid()
    back = form.cleaned_data.get("back", "")
    if "identity" in form.errors:
        if form.has_error("identity", "invalid_choice") or form.has_error("identity", "invalid_pk_value"):
            # As a 404 says it: whether the identity exists, and whose it is, is not told.
            return render(request, "inventory/identity_bulk_refused.html", {"list_url": _list_url(back)}, status=404)
        messages.error(request, form.errors["identity"][0])
        return redirect(_list_url(back))
    rows = bulk.batch_rows(actor=request.user, action=action, identities=form.cleaned_data["identity"])
    if confirmed and not bulk.refused_rows(rows) and form.is_valid():
        try:
            said = _bulk_perform(request, action, form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
            rows = bulk.batch_rows(actor=request.user, action=action, identities=form.cleaned_data["identity"])
        else:
            messages.success(request, said)
            return redirect(_list_url(back))
    if not confirmed:
        # The first step: the person has not answered yet, so nothing is marked wrong.
        form = form_class(initial={"identity": [row.identity.pk for row in rows], "back": back}, choices=choices)
    refused = bulk.refused_rows(rows)
    return render(
        request,
        "inventory/identity_bulk_confirm.html",
        {
            "action": action,
            "form": form,
            "rows": rows,
            "refused": refused,
            "kept": [row.identity.pk for row in rows if not row.refusal],
            "back": back,
            "title": f"{BULK_TITLES[action]} {_identities(len(rows))}",
            "tokens": sum(row.ends.get("tokens", 0) for row in rows),
            "tasks": sum(row.ends.get("tasks", 0) for row in rows),
            "held": is_security_admin(request.user),
            "cancel_url": _list_url(back),
        },
        status=400 if confirmed or refused else 200,
    )


CSV_COLUMNS = [
    ("id", lambda i: i.pk),
    ("name", lambda i: i.name),
    ("kind", lambda i: i.kind),
    ("status", lambda i: i.status),
    ("environment", lambda i: i.environment),
    ("trust_boundary", lambda i: i.trust_boundary),
    ("autonomy", lambda i: i.autonomy),
    ("sensitivity_ceiling", lambda i: i.get_sensitivity_ceiling_display() if i.sensitivity_ceiling else ""),
    ("primary_owner", lambda i: i.primary_owner_name or ""),
    ("has_active_owner", lambda i: "yes" if i.has_active_owner else "no"),
    ("risk_score", lambda i: i.risk_score),
    ("risk_factors", lambda i: " ".join(i.risk_factors or ())),
    ("attestation_due", lambda i: i.attestation_due or ""),
    ("last_attested_at", lambda i: i.last_attested_at.isoformat() if i.last_attested_at else ""),
    ("created_at", lambda i: i.created_at.isoformat()),
    ("purpose", lambda i: i.purpose),
    ("offboarding_plan", lambda i: i.offboarding_plan),
    # Space-separated usernames, as the import reads them: an export imports back whole.
    ("backup_owners", lambda i: " ".join(i.backup_usernames)),
    ("attestation_interval_days", lambda i: i.attestation_interval_days),
]


@login_required
@require_safe
def identity_export(request):
    """Every identity the current filters show (all pages, in the list's order), as CSV."""
    identities = _filtered_identities(request)
    if not identities.is_valid():
        return HttpResponseBadRequest(identities.errors.as_text(), content_type="text/plain; charset=utf-8")
    rows = ([value(i) for _, value in CSV_COLUMNS] for i in _with_backup_owners(identities.qs))
    return csv_download([name for name, _ in CSV_COLUMNS], rows, "identities.csv")


EXPORT_CHUNK = 2000


def _with_backup_owners(identities):
    """Each identity with `backup_usernames` (sorted), read with one query per chunk: a
    prefetch would build a queryset and model instances per identity, most of an export's time."""
    chunk = []
    for identity in identities.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(identity)
        if len(chunk) == EXPORT_CHUNK:
            yield from _backups_filled(chunk)
            chunk = []
    yield from _backups_filled(chunk)


def _backups_filled(chunk):
    backups = {}
    rows = Ownership.objects.filter(identity__in=[i.pk for i in chunk], role=OwnerRole.BACKUP).order_by("person__username")
    for identity_id, username in rows.values_list("identity_id", "person__username"):
        backups.setdefault(identity_id, []).append(username)
    for identity in chunk:
        identity.backup_usernames = backups.get(identity.pk, [])
    return chunk


def _form_page(request, form, *, template="inventory/identity_form.html", **context):
    """A page with one form; a form that comes back bound was refused, hence 400."""
    return render(request, template, {"form": form, **context}, status=400 if form.is_bound else 200)


@login_required
def identity_register(request):
    if not selectors.may_register(request.user):
        raise PermissionDenied
    form = RegisterForm(request.POST or None, actor=request.user)
    if request.method == "POST":
        identity = submit(
            form,
            lambda data: services.identity_register(
                actor=request.user,
                primary_owner=data["primary_owner"],
                backup_owners=data["backup_owners"],
                **form.descriptive_data(),
            ),
        )
        if identity:
            messages.success(request, f"Registered {identity.name}. Activate it once it has what it needs.")
            return _to_identity(identity)
    return _form_page(
        request,
        form,
        title="Register identity",
        crumb="Register",
        intro="It starts as registered: it can hold no tokens until it is activated.",
        submit_label="Register",
        cancel_url=reverse("inventory:identity-list"),
    )


# The transitions done with a button on the identity page: service, form, success message.
# Offboarding has a confirmation page of its own (identity_offboard).
TRANSITIONS = {
    ACTIVATE: (services.identity_activate, TransitionForm, "{} is active."),
    SUSPEND: (services.identity_suspend, SuspendForm, "{} is suspended; its live tokens are revoked."),
    REACTIVATE: (services.identity_reactivate, TransitionForm, "{} is active again."),
}


def _lapse_context(identity) -> dict:
    """For an overdue attestation: when suspend_unattested suspends it (or since when it should
    have), and where the identity's attestation stands: after a rejection, attesting keeps it
    active only once a reviewer confirms."""
    standing = attestation_reviews.standings([identity.pk]).get(identity.pk)
    lapse = lapse_date(identity) if getattr(identity, "is_attestation_overdue", False) else None
    return {
        "attestation_standing": standing,
        "lapse_date": lapse,
        "lapse_overdue": lapse is not None and lapse < timezone.localdate(),
        "attesting_counts_once_confirmed": bool(standing and standing.counts_once_confirmed),
    }


def _orphan_context(user, identity) -> dict:
    """For an orphaned identity: when suspend_orphans will suspend it, whether this person may
    claim it, and the claims waiting."""
    if not getattr(identity, "is_orphaned", False):
        return {}
    due = suspension_due(identity)
    return {
        "suspension_due": due,
        # Past while still active: the background work is not running (the page says so).
        "suspension_overdue": due is not None and timezone.localdate(due) < timezone.localdate(),
        "may_claim": may_claim(user) and not identity.claims.filter(claimant=user, state=ClaimState.PENDING).exists(),
        "pending_claims": list(identity.claims.filter(state=ClaimState.PENDING).select_related("claimant")),
    }


def _identity_page(request, identity, *, status=200, bound_forms=None):
    """The identity page; a refused or invalid action re-renders it with the reason in place."""
    user = request.user
    owners = selectors.identity_owners(identity)
    may_change = visibility.can(user, visibility.CHANGE, identity)
    bound_forms = bound_forms or {}
    actions = []
    for action in allowed_actions(identity) if may_change else []:
        if action == REACTIVATE and services.reactivation_held(user, identity):
            actions.append({"name": action, "label": ACTION_LABELS[action], "held": True})
            continue
        form = bound_forms.get(action)
        if form is None and action in TRANSITIONS:
            form = TRANSITIONS[action][1](initial={"version": identity.version})
        actions.append({"name": action, "label": ACTION_LABELS[action], "form": form})
    history = Paginator(events_for_identity(identity.pk), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    for event in history.object_list:
        event.changes = event_changes(event)
    is_owner = selectors.is_owner_of(user, owners)
    offers_activation = any(a["name"] in (ACTIVATE, REACTIVATE) and not a.get("held") for a in actions)
    context = {
        "identity": identity,
        "owners": owners,
        "may_change": may_change,
        "actions": actions,
        "attest_form": (
            bound_forms.get("attest", AttestForm())
            if is_owner and identity.status in (Status.ACTIVE, Status.SUSPENDED)
            else None
        ),
        # What activation (or reactivation) still lacks: listed once, and its button not offered meanwhile.
        "missing": missing_for_activation(identity) if offers_activation else [],
        "page_obj": history,
        "events": history.object_list,
        "sees_audit_log": sees_everything(user),
        "campaign_asks": selectors.campaign_asks(identity),
        **_lapse_context(identity),
        "latest_attestation": selectors.latest_attestation(identity),
        **_orphan_context(user, identity),
    }
    return render(request, "inventory/identity_detail.html", context, status=status)


@login_required
@require_safe
def identity_detail(request, pk):
    return _identity_page(request, selectors.identity_page_get(user=request.user, pk=pk))


def _offer_to_replace(form, error) -> None:
    """Someone saved this identity since the form was loaded. Say where the stored values now
    differ from the ones typed, and carry the current version, so saving again replaces them
    knowingly instead of being refused forever."""
    if not isinstance(error, services.StaleEdit):
        return
    current = AIIdentity.objects.get(pk=form.instance.pk)
    differ = [
        form.fields[name].label or name for name in form.descriptive_data()
        if getattr(current, name) != form.cleaned_data[name]
    ]
    form.data = form.data.copy()
    form.data["version"] = current.version
    form.errors[NON_FIELD_ERRORS] = form.error_class([
        "Someone saved this identity since you opened it."
        + (f" Its current values differ from yours in: {', '.join(str(d).lower() for d in differ)}." if differ else "")
        + " Your values are below: save again to replace the current ones, or cancel to keep them."
    ])


def _explain_refusal(request, identity, form, error) -> None:
    """A stale edit offers to replace; a widening refused by policy says plainly who changes it."""
    _offer_to_replace(form, error)
    if error is not None and not isinstance(error, services.StaleEdit):
        form.explain_policy_refusals(identity, error, why=token_selectors.why_settled(identity), viewer=request.user)


@login_required
def identity_edit(request, pk):
    identity = _identity_to_change(request, pk)
    if identity.is_offboarded:
        return _refuse_offboarded(request, identity)
    # The form edits a copy, so the page keeps showing the stored name while errors are fixed.
    form = EditForm(request.POST or None, instance=copy.copy(identity), actor=request.user)
    if request.method == "POST" and submit(
        form,
        lambda data: services.identity_update(
            actor=request.user, identity=identity, expected_version=data["version"], **form.descriptive_data()
        ),
        on_refusal=lambda form, error: _explain_refusal(request, identity, form, error),
    ):
        messages.success(request, f"Saved your changes to {identity.name}.")
        return _to_identity(identity)
    return _form_page(
        request,
        form,
        identity=identity,
        title=f"Edit {identity.name}",
        crumb="Edit",
        submit_label="Save changes",
        cancel_url=reverse("inventory:identity-detail", args=[identity.pk]),
    )


@login_required
def identity_owners(request, pk):
    identity = _identity_to_change(request, pk)
    if identity.is_offboarded:
        return _refuse_offboarded(request, identity)
    form = OwnersForm(request.POST or None, identity=identity, owners=selectors.identity_owners(identity))
    if request.method == "POST" and submit(
        form,
        lambda data: services.identity_owners_set(
            actor=request.user,
            identity=identity,
            primary_owner=data["primary_owner"],
            backup_owners=data["backup_owners"],
            expected_version=data["version"],
        ),
    ):
        messages.success(request, f"Updated the owners of {identity.name}.")
        if visibility.can(request.user, visibility.VIEW, identity):
            return _to_identity(identity)
        # Whoever handed the identity over no longer sees it.
        return redirect("inventory:identity-list")
    return _form_page(
        request,
        form,
        identity=identity,
        title=f"Owners of {identity.name}",
        crumb="Owners",
        intro="Owners see and change the identity and attest it. Someone removed here loses access at once.",
        submit_label="Save owners",
        cancel_url=reverse("inventory:identity-detail", args=[identity.pk]),
    )


def _transition_refusal(identity, action, refusal) -> str:
    """What to tell the person whose lifecycle action was refused, once: what activation lacks is
    listed on the identity page itself, and the page they land on is already current."""
    if isinstance(refusal, services.StaleEdit):
        return f"Someone changed {identity.name} since you opened its page: here it is as it is now. Do it again if it still holds."
    if refusal.missing:
        return f"{identity.name} was not {'reactivated' if action == REACTIVATE else 'activated'}: it still needs what is listed below."
    return " ".join(refusal.messages)


@require_POST
@login_required
def identity_transition(request, pk, action):
    identity = _identity_to_change(request, pk)
    service, form_class, done = TRANSITIONS[action]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            service(
                actor=request.user,
                identity=identity,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
            )
        except (services.TransitionRefused, services.StaleEdit) as refusal:
            # Post/redirect/get: the identity page, as it is now, says what is in the way, and
            # refreshing it does not press the button again.
            messages.error(request, _transition_refusal(identity, action, refusal))
            return _to_identity(identity)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, done.format(identity.name))
            return _to_identity(identity)
    return _identity_page(request, identity, status=400, bound_forms={action: form})


@require_http_methods(["GET", "POST"])
@login_required
def identity_offboard(request, pk):
    """Offboarding ends everything the identity holds, so it has a page of its own to confirm it."""
    identity = _identity_to_change(request, pk)
    if identity.is_offboarded:
        messages.info(request, f"{identity.name} is already offboarded.")
        return _to_identity(identity)
    form = OffboardForm(request.POST or None, identity=identity)
    if request.method == "POST" and submit(
        form,
        lambda data: services.identity_offboard(
            actor=request.user, identity=identity, reason=data["reason"], expected_version=data["version"]
        ),
    ):
        messages.success(
            request,
            f"{identity.name} is offboarded: its tokens and grants are revoked, its tasks ended and its workload "
            "credentials disabled. Its record and history are kept.",
        )
        return _to_identity(identity)
    return _form_page(
        request,
        form,
        template="inventory/identity_offboard.html",
        identity=identity,
        ends=token_selectors.offboarding_ends(identity),
        title=f"Offboard {identity.name}",
        crumb="Offboard",
        submit_label=f"Offboard {identity.name}",
        submit_class="btn-danger",
        cancel_url=reverse("inventory:identity-detail", args=[identity.pk]),
    )


@require_POST
@login_required
def identity_attest(request, pk):
    identity = selectors.identity_page_get(user=request.user, pk=pk)
    # An attestation is an owner's own statement; an admin who does not own it cannot make it for them.
    if not selectors.is_owner_of(request.user, selectors.identity_owners(identity)):
        raise PermissionDenied
    form = AttestForm(request.POST)
    if not form.is_valid():
        return _identity_page(request, identity, status=400, bound_forms={"attest": form})
    try:
        attestation = services.identity_attest(actor=request.user, identity=identity, note=form.cleaned_data["note"])
    except ValidationError as refusal:
        # Post/redirect/get, as for the lifecycle buttons: the page as it is now says why.
        messages.error(request, " ".join(refusal.messages))
        return _to_identity(identity)
    identity.refresh_from_db(fields=["attestation_due"])
    if attestation.standing_rejection is not None:
        messages.warning(request, (
            f"Attested {identity.name}. A reviewer rejected the last attestation, so this one waits for a reviewer: "
            f"it stays due {identity.attestation_due:%Y-%m-%d} until one confirms it."
        ))
    else:
        messages.success(request, f"Attested {identity.name}. The next attestation is due {identity.attestation_due:%Y-%m-%d}.")
    return _to_identity(identity)

