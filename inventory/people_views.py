"""People: the directory behind the type-ahead pickers (people_picker.py), and the people
pages, where reviewers, compliance and security admins see who answers for what, and a
security admin hands a leaver's ownership over, deactivates them, ends their sessions, or
changes their roles."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from nhiportal.audit.selectors import event_changes, events_for_object
from nhiportal.pages import page_of
from nhiportal.people.ending_sessions import open_sessions_of, person_sessions_end
from nhiportal.people.roles import ALL_ROLES, ROLE_LABELS
from nhiportal.people.second_factor import has_second_factor, second_factor_remove
from nhiportal.people.selectors import directory_entry_of, directory_groups_of, sessions_of, sso_link_of
from nhiportal.people.services import person_deactivate, person_reactivate, person_roles_set
from nhiportal.service_forms import submit

from . import people, selectors
from .handover import ownerships_hand_over
from .people_forms import DeactivateForm, EndSessionsForm, HandOverForm, ReactivateForm, RolesForm, SecondFactorResetForm
from .people_picker import person_label
from .token_selectors import services_owned_count

MAX_QUERY_LENGTH = 100
NOTHING_TO_HAND_OVER = "Nothing to hand over: they own no identity in service and no service."


@never_cache
@login_required
@require_GET
def people_search(request):
    """Active people matching ?q=, for a form that names people: {results: [{id, label, email}], more}."""
    if not selectors.may_pick_people(request.user):
        raise PermissionDenied
    people, more = selectors.people_matching(request.GET.get("q", "")[:MAX_QUERY_LENGTH])
    results = [{"id": p.pk, "label": person_label(p), "email": p.email} for p in people]
    return JsonResponse({"results": results, "more": more})


def _require_reader(user) -> None:
    if not people.may_see_people(user):
        raise PermissionDenied


@login_required
@require_GET
def person_list(request):
    _require_reader(request.user)
    state = request.GET.get("state", "active")
    state = state if state in people.STATES else "active"
    role = request.GET.get("role", "")
    role = role if role in people.ROLE_FILTERS else ""
    q = request.GET.get("q", "")[:MAX_QUERY_LENGTH]
    sign_in = request.GET.get("sign_in", "")
    sign_in = sign_in if sign_in in people.SIGN_INS else ""
    # Passed as given: an unknown value lists nobody (people.directory), not everyone.
    owns, kept = request.GET.get("owns", "")[:10], request.GET.get("kept", "")[:10]
    page_obj = page_of(request, people.directory(q=q, role=role, state=state, sign_in=sign_in, owns=owns, kept=kept))
    for person in page_obj.object_list:
        person.roles_shown = people.roles_shown(person)
    return render(request, "inventory/person_list.html", {
        "page_obj": page_obj, "q": q, "role": role, "state": state, "states": people.STATES,
        "sign_in": sign_in, "sign_ins": people.SIGN_INS.items(), "owns": owns, "kept": kept, "yes_no": people.YES_NO.items(),
        "roles": [*((name, ROLE_LABELS[name]) for name in ALL_ROLES), (people.DECIDES_ACCESS, "Decides access (reviewer or security admin)")],
        "leavers": people.leavers_still_owning().count(),
    })


def _person_page(request, person, *, status=200, **bound):
    manage = people.may_manage_people(request.user) and person.pk != request.user.pk
    # Someone who took over a team's agents can own thousands: a page of them, and the counts.
    owned = people.owned_identities(person)
    page_obj = page_of(request, owned)
    events = events_for_object(person)
    for event in events:
        event.changes = event_changes(event)
    # Which browsers, from where: what "a laptop was stolen" is checked against. For those who
    # may end them only; others learn the count alone. The list holds every open session (it is
    # not paginated), so its length is the count: no second query for the same number.
    sessions = sessions_of(person, current_session_key=None) if manage else None
    return render(request, "inventory/person_detail.html", {
        "person": person,
        "roles_shown": people.roles_shown(person),
        "page_obj": page_obj,
        "owned": list(page_obj.object_list),
        "would_orphan": owned.filter(others_active=False),  # counted by the page, not loaded
        "events": events,
        "manage": manage,
        "is_you": person.pk == request.user.pk,
        "superuser": person.is_superuser,
        "sso_link": sso_link_of(person),
        "directory_entry": directory_entry_of(person),
        "directory_groups": directory_groups_of(person),
        "sso_name": settings.SSO["NAME"],
        "roles_from_provider": bool(settings.SSO["ROLE_GROUPS"]),
        "handover_form": (bound.get("handover") or HandOverForm(leaver=person)) if manage else None,
        # The page's count of identities in service is the handover's (identities_to_hand_over).
        "nothing_to_hand_over": NOTHING_TO_HAND_OVER if manage and not page_obj.paginator.count and not services_owned_count(person) else "",
        "deactivate_form": bound.get("deactivate") or DeactivateForm(),
        "reactivate_form": bound.get("reactivate") or ReactivateForm(),
        "second_factor_form": bound.get("second_factor") or SecondFactorResetForm(),
        "has_second_factor": has_second_factor(person),
        "open_sessions": len(sessions) if sessions is not None else open_sessions_of(person).count(),
        "sessions": sessions or [],
        "sessions_form": bound.get("sessions") or EndSessionsForm(),
        "roles_form": bound.get("roles") or RolesForm(initial={"roles": sorted({g.name for g in person.groups.all()} & set(ALL_ROLES))}),
    }, status=status)


def _person(request, pk, *, manage: bool = False):
    user = request.user
    if not (people.may_manage_people(user) if manage else people.may_see_people(user)):
        raise PermissionDenied
    person = get_object_or_404(get_user_model(), pk=pk)
    if manage and person.pk == user.pk:
        raise PermissionDenied  # another security admin changes you
    return person


@login_required
@require_GET
def person_detail(request, pk):
    return _person_page(request, _person(request, pk))


@login_required
@require_POST
def person_hand_over(request, pk):
    leaver = _person(request, pk, manage=True)
    form = HandOverForm(request.POST, leaver=leaver)
    moved = submit(form, lambda data: ownerships_hand_over(actor=request.user, leaver=leaver, successor=data["successor"], reason=data["reason"]))
    if not moved:
        return _person_page(request, leaver, status=400, handover=form)
    successor = form.cleaned_data["successor"]
    n, s = moved["identities"], moved.get("services", 0)
    if not (n or s):
        messages.info(request, NOTHING_TO_HAND_OVER)
        return redirect("inventory:person-detail", pk=leaver.pk)
    messages.success(request, f"{successor.get_username()} now answers for {n} identit{pluralize(n, 'y,ies')} and {s} service{pluralize(s)} {leaver.get_username()} owned.")
    return redirect("inventory:person-detail", pk=leaver.pk)


def _api_tokens(revoked: int) -> str:
    return f"{revoked} API token{pluralize(revoked)}"


def _sessions_ended_said(person, ended: int, revoked: int) -> str:
    """What ending a person's sessions did: the sessions, and the API tokens made in them."""
    name = person.get_username()
    if not ended:
        return f"{name} had no open session."
    tokens = f"revoked the {_api_tokens(revoked)} made in {pluralize(ended, 'it,them')}" if revoked else f"no API token was made in {pluralize(ended, 'it,them')}"
    return f"Ended {ended} session{pluralize(ended)} of {name} ({tokens}): they sign in again to go on."


def _deactivated_said(person, revoked: int) -> str:
    tokens = f"their {_api_tokens(revoked)} {pluralize(revoked, 'is,are')} revoked" if revoked else "they held no API token to revoke"
    return f"{person.get_username()} is deactivated: they are signed out, can no longer sign in, and {tokens}."


@login_required
@require_POST
def person_sessions_end_view(request, pk):
    person = _person(request, pk, manage=True)
    form = EndSessionsForm(request.POST)
    done = submit(form, lambda data: people.with_api_tokens_revoked(
        lambda: person_sessions_end(person=person, actor=request.user, reason=data["reason"]), person=person, action=people.SESSIONS_ENDED,
    ))
    if done is None:
        return _person_page(request, person, status=400, sessions=form)
    messages.success(request, _sessions_ended_said(person, *done))
    return redirect("inventory:person-detail", pk=person.pk)


def _person_action(form_class, write, done):
    """A POST that changes one person (security admins, never themselves): write(actor, person,
    cleaned_data) through the form, or the person page again with the form's errors. `done`:
    the message, with {person}; or done(person, what write answered) for one that says more."""

    @login_required
    @require_POST
    def view(request, pk):
        person = _person(request, pk, manage=True)
        form = form_class(request.POST)
        answer = submit(form, lambda data: write(request.user, person, data))
        if not answer:
            return _person_page(request, person, status=400, **{form.prefix: form})
        messages.success(request, done(person, answer) if callable(done) else done.format(person=person.get_username()))
        return redirect("inventory:person-detail", pk=person.pk)

    return view


person_deactivate_view = _person_action(
    DeactivateForm,
    lambda actor, person, data: people.with_api_tokens_revoked(
        lambda: person_deactivate(person=person, actor=actor, reason=data["reason"]), person=person, action=people.DEACTIVATED,
    ),
    lambda person, answer: _deactivated_said(person, answer[1]),
)
person_reactivate_view = _person_action(
    ReactivateForm, lambda actor, person, data: person_reactivate(person=person, actor=actor, reason=data["reason"]),
    "{person} is active again.",
)
person_second_factor_reset = _person_action(
    SecondFactorResetForm, lambda actor, person, data: second_factor_remove(person=person, actor=actor, reason=data["reason"]),
    "The second factor of {person} is reset: they sign in with their password, then set up a new app.",
)
person_roles = _person_action(
    RolesForm, lambda actor, person, data: person_roles_set(person=person, roles=data["roles"], actor=actor),
    "Saved the roles of {person}.",
)
