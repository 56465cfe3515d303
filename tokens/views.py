"""The token service's catalogue pages: services, grants, signing keys, trust domains.

Everyone logged in reads services and the grants of identities they can see; only security
admins change any of it (403 for others). Identity-scoped pages are in identity_views.py.
"""

import json
from functools import partial

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_http_methods, require_safe

from inventory import people, visibility
from inventory.models import AIIdentity
from nhiportal.ids import as_id
from nhiportal.pages import dashboard_card, page_of
from nhiportal.people.roles import is_security_admin
from nhiportal.service_forms import bulk_submit, submit

from . import ending_previews, rotation, selectors, services, source_networks, usage
from .forms import (
    ResourceMetadataForm,
    EmergencyRevokeForm,
    KeyCompromisedForm,
    GrantForm,
    GrantReduceForm,
    UnusedScopesRemoveForm,
    KeyRotateForm,
    ReasonForm,
    ScopeFormSet,
    ServiceForm,
    TrustDomainBundleForm,
    TrustDomainForm,
    forget_pasted_private_key,
    scope_rows,
)
from .access_previews import grant_preview
from .filters import CredentialFilter, GrantFilter, ServiceFilter, page_filters
from .access_reviews import may_launch as may_launch_review
from .keys import rotated_message, signing_key_compromised, signing_keys_rotate
from .revocation import live_tokens
from .emergency import revoke_in_emergency
from .remote_json import FetchFailed
from .resource_metadata import service_draft
from .distrust import trust_end, trust_restore
from .trust_bundles import bundle_refresh
from .models import CredentialKind, Grant, IssuedToken, KeyState, Service, SigningKey, TrustDomain


# A refused credential-bearing form must not echo a pasted private key back into the page.
_submitted = partial(submit, on_refusal=forget_pasted_private_key)


def _require_security_admin(request):
    if not is_security_admin(request.user):
        raise PermissionDenied


def _form_page(request, template, form, **context):
    """A form page; a form that comes back bound was refused, hence 400."""
    return render(request, template, {"form": form, **context}, status=400 if form.is_bound else 200)


@login_required
@require_safe
def service_list(request):
    filters = page_filters(request, ServiceFilter, selectors.service_list())
    page_obj = page_of(request, filters.rows())
    return render(
        request,
        "tokens/service_list.html",
        {"page_obj": page_obj, "services": page_obj.object_list, "may_change": is_security_admin(request.user), "filters": filters},
        status=200 if filters.valid else 400,
    )


@login_required
@require_safe
def service_detail(request, pk):
    service = get_object_or_404(Service.objects.select_related("owner"), pk=pk)
    grants = selectors.grant_list(user=request.user, service=service, state="live")
    shown = usage.with_uses(list(grants[:50]))
    for grant in shown:
        grant.state = "live"
    return render(
        request,
        "tokens/service_detail.html",
        {
            "service": service,
            "scopes": service.scopes.all(),
            "grants": shown,
            "grant_count": grants.count(),
            "window_days": usage.window_days(),
            "bulk_reason": f"Not used in the last {usage.window_days()} days.",
            "may_change": is_security_admin(request.user),
            "may_review": may_launch_review(request.user) and grants.exists(),
        },
    )


MORE_SCOPE_ROWS = 3
MAX_SCOPE_ROWS = 100


def _draft_from(metadata_form):
    """The service the form's URL describes, or None with the reason on the form's field."""
    if not metadata_form.is_bound or not metadata_form.is_valid():
        return None
    try:
        return service_draft(metadata_form.cleaned_data["metadata"])
    except ValidationError as refusal:
        metadata_form.add_error("metadata", refusal.messages)
    except FetchFailed as failure:
        metadata_form.add_error("metadata", str(failure))
    return None


def _service_form_page(request, service=None):
    _require_security_admin(request)
    initial_scopes = [
        {"name": s.name, "description": s.description, "consequential": s.consequential} for s in service.scopes.all()
    ] if service else []
    initial_jwk = json.dumps(service.introspection_jwk, indent=2) if service and service.introspection_jwk else ""
    initial = {"introspection_jwk": initial_jwk, "owner": service.owner if service else request.user}
    # A new service may start from its published metadata (a GET: nothing is saved until the form is).
    metadata_form = ResourceMetadataForm(request.GET if "metadata" in request.GET else None) if service is None else None
    draft = _draft_from(metadata_form) if metadata_form is not None and request.method == "GET" else None
    if draft is not None:
        initial.update(name=draft.name, audience=draft.audience, requires_dpop=draft.requires_dpop, metadata_url=draft.metadata_url)
        initial_scopes = [{"name": scope} for scope in draft.scopes]
    if request.method == "POST" and "more_rows" in request.POST:
        # Three more empty scope rows, nothing saved and nothing judged yet: what was typed stays.
        data = request.POST.copy()
        rows = min((as_id(data.get("scopes-TOTAL_FORMS")) or 0) + MORE_SCOPE_ROWS, MAX_SCOPE_ROWS)
        data["scopes-TOTAL_FORMS"] = str(rows)
        # Read as the bound form reads them (an unticked box is False, not missing), shown unjudged.
        typed = ServiceForm(request.POST, instance=service)
        form = ServiceForm(instance=service, initial={**initial, **{name: typed[name].value() for name in typed.fields}})
        scopes = ScopeFormSet(data, initial=initial_scopes, prefix="scopes")
        return render(request, "tokens/service_form.html", {
            "form": form, "scopes": scopes, "service": service, "cancel_url": reverse("tokens:service-list"),
            "metadata_form": metadata_form,
        })
    form = ServiceForm(request.POST or None, instance=service, initial=initial)
    scopes = ScopeFormSet(request.POST or None, initial=initial_scopes, prefix="scopes")
    if request.method == "POST" and not scopes.is_valid():
        form.is_valid()  # show the service's own field errors alongside the scopes'
    elif request.method == "POST":

        def write(data):
            fields = {f: data[f] for f in ServiceForm.Meta.fields if f in data}
            if service is None:
                return services.service_create(
                    actor=request.user, scopes=scope_rows(scopes), introspection_jwk=data["introspection_jwk"], **fields
                )
            # What was typed, blank included: deactivating it or removing a scope needs a reason.
            return services.service_update(
                actor=request.user, service=service, scopes=scope_rows(scopes), introspection_jwk=data["introspection_jwk"],
                reason=data.get("reason", ""), **fields,
            )

        saved = _submitted(form, write)
        if saved:
            messages.success(request, f"Saved {saved.name}.")
            return redirect("tokens:service-detail", pk=saved.pk)
    return render(
        request,
        "tokens/service_form.html",
        {
            "form": form, "scopes": scopes, "service": service, "cancel_url": reverse("tokens:service-list"),
            "metadata_form": metadata_form, "draft": draft,
        },
        status=400 if request.method == "POST" or (metadata_form is not None and metadata_form.errors) else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def service_create(request):
    return _service_form_page(request)


@require_http_methods(["GET", "POST"])
@login_required
def service_edit(request, pk):
    return _service_form_page(request, get_object_or_404(Service, pk=pk))


def _with_reduce_rights(user, grants: list) -> list:
    """Set grant.may_reduce: the user may change its identity (an owner, a security admin) and it
    has not ended. One query for the page's identities."""
    ids = {g.identity_id for g in grants}
    changeable = set(visibility.restrict(AIIdentity.objects.filter(pk__in=ids), user, visibility.CHANGE).values_list("pk", flat=True))
    now = timezone.now()
    for grant in grants:
        grant.may_reduce = grant.identity_id in changeable and grant.revoked_at is None and grant.ends_at > now
    return grants


@login_required
@require_safe
def person_services_panel(request, pk):
    """The person page's services (loaded with htmx): those they own, which a handover moves too."""
    if not people.may_see_people(request.user):
        raise PermissionDenied
    person = get_object_or_404(get_user_model(), pk=pk)
    return render(request, "tokens/partials/person_services.html", {"services": Service.objects.filter(owner=person).order_by("name")})


@login_required
@require_safe
def unused_access_card(request):
    """The dashboard's card (loaded with htmx): unused grants among the identities the user sees."""
    return dashboard_card(
        request, "tokens/partials/unused_access_card.html", selectors.unused_grant_list(user=request.user), "grants",
        prepare=lambda grants: _with_reduce_rights(request.user, usage.with_uses(grants)), window_days=usage.window_days(),
        unchecked=selectors.grant_usage_unchecked(user=request.user),
    )


@login_required
@require_safe
def grant_list(request):
    state = request.GET.get("state", "live")
    if state not in selectors.GRANT_STATES:
        state = "live"
    filters = page_filters(
        request, GrantFilter, selectors.grants_in_state(user=request.user, state=state),
        identities=selectors.visible_identities(request.user),
    )
    page_obj = page_of(request, filters.rows())
    rows = list(page_obj.object_list)
    offered = selectors.offered_scopes({g.service_id for g in rows})
    for grant in _with_reduce_rights(request.user, usage.with_uses(rows)):
        grant.state = selectors.grant_state(grant)
        grant.blockers = selectors.grant_blockers(grant, offered.get(grant.service_id, set()))
    return render(
        request,
        "tokens/grant_list.html",
        {
            "page_obj": page_obj,
            "grants": rows,
            "filters": filters,
            "state": state,
            "states": selectors.GRANT_STATES,
            "window_days": usage.window_days(),
            "bulk_reason": f"Not used in the last {usage.window_days()} days.",
            "may_change": is_security_admin(request.user),
            "bulk": state == "unused" and any(g.may_reduce for g in rows),
            # An empty "unused" tab means nothing when the usage check has not run yet.
            "unchecked": state == "unused" and not rows and not filters.filtering and selectors.grant_usage_unchecked(user=request.user),
        },
        status=200 if filters.valid else 400,
    )


@login_required
@require_safe
def credential_list(request):
    """Every workload credential the person may see, across identities: how each agent proves
    itself, which keys are old, which platforms are trusted for which workloads."""
    state = request.GET.get("state", "enabled")
    state = state if state in selectors.CREDENTIAL_STATES else "enabled"
    kind = request.GET.get("kind", "")
    kind = kind if kind in CredentialKind.values else ""
    # ?issuer= or ?trust_domain=: the identities that trust one platform (linked from its list).
    platform, _ = selectors.credential_platform(user=request.user, params=request.GET)
    credentials = selectors.credential_list(user=request.user, kind=kind, state=state, platform=platform)
    filters = page_filters(request, CredentialFilter, credentials, identities=selectors.visible_identities(request.user))
    page_obj = page_of(request, filters.rows())
    return render(request, "tokens/credential_list.html", {
        "page_obj": page_obj, "credentials": page_obj.object_list, "state": state, "states": selectors.CREDENTIAL_STATES,
        "kind": kind, "kinds": CredentialKind.choices, "max_age_days": rotation.max_age_days(),
        "platform": platform, "filters": filters,
    }, status=200 if filters.valid else 400)


@require_http_methods(["GET", "POST"])
@login_required
def grant_create(request):
    _require_security_admin(request)
    initial = {k: request.GET[k] for k in ("identity", "service") if request.GET.get(k)}
    form = GrantForm(request.POST or None, initial=initial, refresh_url=request.path)

    def write(data):
        try:
            return services.grant_create(
                actor=request.user,
                identity=data["identity"],
                service=data["service"],
                scopes=data["scope_names"],
                ends_at=data["ends_at"],
                justification=data["justification"],
            )
        except PermissionDenied as refusal:  # their own identity: said next to the field, as any refusal
            raise ValidationError({"identity": str(refusal)}) from None

    grant = request.method == "POST" and _submitted(form, write)
    if grant:
        messages.success(request, f"Granted {' '.join(grant.scopes)} on {grant.service.name} to {grant.identity.name}.")
        preview = grant_preview(grant.identity, grant.service, grant.scopes)
        if preview.decision == "deny":
            messages.warning(request, (
                f"The active policy would still refuse {grant.identity.name} a token for it "
                f"({', '.join(preview.policy_ids) or 'no policy permits it'}): access on paper only until that changes."
            ))
        return redirect("tokens:grant-list")
    return _form_page(request, "tokens/grant_form.html", form, cancel_url=reverse("tokens:grant-list"))


@login_required
@require_safe
def key_rotation_card(request):
    """The dashboard's card (loaded with htmx): agents' public keys due for rotation among the
    identities the user sees, oldest first."""
    due = rotation.due_for_rotation().filter(identity__in=selectors.visible_identities(request.user))
    return dashboard_card(
        request, "tokens/partials/key_rotation_card.html", due.select_related("identity").order_by("created_at"), "keys",
        max_age_days=rotation.max_age_days(),
    )


@login_required
@require_safe
def new_network_card(request):
    """The dashboard's card (loaded with htmx): networks first seen in the last week by the
    identities the user sees, newest first: each a copied key, unless the agent moved."""
    found = source_networks.new_networks(timezone.now()).filter(identity__in=selectors.visible_identities(request.user))
    return dashboard_card(
        request, "tokens/partials/new_network_card.html", found.select_related("identity").order_by("-first_seen_at"), "networks",
        days=source_networks.NEW_NETWORK_DAYS,
    )


@require_POST
@login_required
def unused_scopes_remove(request):
    """The unused-access list's bulk action: take off each grant ticked what is still unused."""
    changeable = visibility.restrict(AIIdentity.objects.all(), request.user, visibility.CHANGE)
    form = UnusedScopesRemoveForm(request.POST, choices=selectors.unused_grant_list(user=request.user).filter(identity__in=changeable))
    back = reverse("tokens:grant-list") + "?state=unused"
    done = bulk_submit(
        request, form, lambda data: usage.unused_scopes_remove(actor=request.user, grants=list(data["grant"]), reason=data["reason"]),
        nothing="Nothing was removed",
    )
    if done is None:
        return redirect(back)
    said = [f"{done['reduced']} grant{pluralize(done['reduced'])} narrowed", f"{done['revoked']} revoked (every scope unused)"]
    if done["in use again"]:
        said.append(f"{done['in use again']} left as {pluralize(done['in use again'], 'it was,they were')}: in use again since the last check")
    messages.success(request, "; ".join(said) + ". Tokens that carried a removed scope are revoked.")
    return redirect(back)


@require_http_methods(["GET", "POST"])
@login_required
def grant_reduce(request, pk):
    """Remove some scopes of a grant: its identity's owners and security admins, who may change it."""
    grant = get_object_or_404(selectors.grant_list(user=request.user), pk=pk)
    if not visibility.can(request.user, visibility.CHANGE, grant.identity):
        raise PermissionDenied
    back = reverse("inventory:identity-detail", args=[grant.identity_id]) + "#access"
    if selectors.grant_state(grant) in ("revoked", "expired"):
        messages.info(request, "This grant has ended: it holds nothing to take away.")
        return redirect(back)
    use = usage.current_use(grant)
    form = GrantReduceForm(request.POST or None, grant=grant, use=use, window_days=usage.window_days())
    done = request.method == "POST" and _submitted(
        form,
        lambda data: services.grant_reduce(actor=request.user, grant=grant, remove=data["scopes"], reason=data["reason"]),
    )
    if done:
        if done.revoked_at:
            messages.success(request, f"Revoked the grant of {grant.identity.name} on {grant.service.name}; its tokens are revoked.")
        else:
            messages.success(request, f"{grant.identity.name} now holds {' '.join(done.scopes)} on {grant.service.name}; tokens that carried the removed scopes are revoked.")
        return redirect(back)
    return _form_page(request, "tokens/grant_reduce.html", form, grant=grant, use=use, cancel_url=back)


@require_http_methods(["GET", "POST"])
@login_required
def grant_revoke(request, pk):
    _require_security_admin(request)
    grant = get_object_or_404(Grant.objects.select_related("identity", "service"), pk=pk)
    if grant.revoked_at:
        messages.info(request, "This grant is already revoked.")
        return redirect("tokens:grant-list")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and _submitted(
        form, lambda data: services.grant_revoke(actor=request.user, grant=grant, reason=data["reason"])
    ):
        messages.success(request, f"Revoked the grant of {grant.identity.name} on {grant.service.name}; its tokens are revoked.")
        return redirect("tokens:grant-list")
    return _form_page(request, "tokens/grant_revoke.html", form, grant=grant, cancel_url=reverse("tokens:grant-list"))


@login_required
def key_list(request):
    _require_security_admin(request)
    return _key_list_page(request, KeyRotateForm())


def _key_list_page(request, form, *, status=200):
    # Every rotation leaves a retired key behind: the list grows for ever, so it pages like the others.
    page_obj = page_of(request, selectors.signing_keys())
    return render(request, "tokens/key_list.html", {"page_obj": page_obj, "keys": page_obj.object_list, "form": form}, status=status)


@require_POST
@login_required
def key_rotate(request):
    _require_security_admin(request)
    form = KeyRotateForm(request.POST)
    if not form.is_valid():
        return _key_list_page(request, form, status=400)
    key = signing_keys_rotate(actor=request.user, alg=form.cleaned_data["alg"])
    messages.success(request, rotated_message(key, form.cleaned_data["alg"]))
    return redirect("tokens:key-list")


@require_http_methods(["GET", "POST"])
@login_required
def key_compromised(request, kid):
    _require_security_admin(request)
    key = get_object_or_404(SigningKey.objects.exclude(state=KeyState.RETIRED), kid=kid)
    form = KeyCompromisedForm(request.POST or None, kid=key.kid)
    if request.method == "POST":
        revoked = _submitted(form, lambda data: signing_key_compromised(actor=request.user, key=key, reason=data["reason"]))
        if revoked is not None:
            messages.success(request, f"{key.kid[:12]}… is no longer published; {revoked} token{'s' if revoked != 1 else ''} it signed revoked.")
            return redirect("tokens:key-list")
    signed = IssuedToken.objects.filter(signing_kid=key.kid)
    return _form_page(
        request, "tokens/key_compromised.html", form, key=key, cancel_url=reverse("tokens:key-list"),
        taking=ending_previews.revoking(signed), signed_for=live_tokens(signed).values("identity_id").distinct().count(),
    )


@require_http_methods(["GET", "POST"])
@login_required
def emergency_revoke(request):
    _require_security_admin(request)
    form = EmergencyRevokeForm(request.POST or None)
    if request.method == "POST":
        revoked = _submitted(
            form, lambda data: revoke_in_emergency(actor=request.user, reason=data["reason"], service=data["service"]),
        )
        if revoked is not None:
            n, held = revoked.tokens, revoked.identities
            messages.success(
                request,
                f"Revoked {n} live token{pluralize(n)} for {revoked.scope}, held by {held} identit{pluralize(held, 'y,ies')}.",
            )
            return redirect("tokens:emergency-revoke")
    live = selectors.live_tokens_by_service()
    return _form_page(
        request, "tokens/emergency_revoke.html", form, cancel_url=reverse("tokens:key-list"),
        live=live, live_total=sum(n for _, n in live),
    )


@login_required
def trustdomain_list(request):
    _require_security_admin(request)
    return render(request, "tokens/trustdomain_list.html", {"domains": selectors.platforms(TrustDomain)})


@require_http_methods(["GET", "POST"])
@login_required
def trustdomain_create(request):
    _require_security_admin(request)
    form = TrustDomainForm(request.POST or None)
    domain = request.method == "POST" and _submitted(
        form, lambda data: services.trust_domain_create(
            actor=request.user, name=data["name"], jwks=data["jwks"], bundle_endpoint=data["bundle_endpoint"],
        )
    )
    if domain:
        messages.success(request, f"Registered the trust domain {domain.name}.")
        return redirect("tokens:trustdomain-list")
    return _form_page(request, "tokens/trustdomain_form.html", form, cancel_url=reverse("tokens:trustdomain-list"))


def keys_refresh_page(request, model, pk, what: str, back: str):
    """A "Fetch now" button: fetch a trust domain's bundle or an issuer's keys now, rather than
    on the sweep's next turn."""
    _require_security_admin(request)
    holder = get_object_or_404(model.objects.exclude(bundle_endpoint=""), pk=pk)
    outcome = bundle_refresh(actor=request.user, holder=holder)
    if outcome == "failed":
        messages.error(request, model.objects.get(pk=pk).bundle_error)
    else:
        messages.success(request, f"Fetched the {what} of {holder.name}: {'new keys' if outcome == 'changed' else 'the same keys'}.")
    return redirect(back)


def trust_change_page(request, model, pk, kind: str, back: str):
    """Stop trusting a trust domain or an issuer (tokens/distrust.py), or trust it again: what
    it disables, and why."""
    _require_security_admin(request)
    holder = get_object_or_404(model, pk=pk)
    form = ReasonForm(request.POST or None)
    change = trust_restore if holder.distrusted_at else trust_end
    changed = request.method == "POST" and _submitted(form, lambda data: change(actor=request.user, holder=holder, reason=data["reason"]))
    if changed and changed.distrusted_at:
        messages.success(
            request, f"Stopped trusting {changed.name}: {changed.credentials_disabled} credential{pluralize(changed.credentials_disabled)} "
            f"disabled, {changed.tokens_revoked} token{pluralize(changed.tokens_revoked)} revoked.",
        )
    elif changed:
        messages.success(request, f"{changed.name} is trusted again; owners may add credentials that name it.")
    if changed:
        return redirect(back)
    credentials = holder.credentials.filter(enabled=True).select_related("identity").order_by("identity__name")
    live = IssuedToken.objects.filter(credential__in=credentials, revoked_at__isnull=True, expires_at__gt=timezone.now()).count()
    return _form_page(
        request, "tokens/trust_change.html", form, holder=holder, kind=kind, kind_plural=f"{kind}s",
        credentials=credentials, live_tokens=live, cancel_url=reverse(back),
    )


@require_http_methods(["GET", "POST"])
@login_required
def trustdomain_trust(request, pk):
    return trust_change_page(request, TrustDomain, pk, "trust domain", "tokens:trustdomain-list")


@require_POST
@login_required
def trustdomain_refresh(request, pk):
    return keys_refresh_page(request, TrustDomain, pk, "bundle", "tokens:trustdomain-list")


@require_http_methods(["GET", "POST"])
@login_required
def trustdomain_edit(request, pk):
    _require_security_admin(request)
    domain = get_object_or_404(TrustDomain, pk=pk)
    form = TrustDomainBundleForm(
        request.POST or None, initial={"jwks": json.dumps(domain.jwks, indent=2), "bundle_endpoint": domain.bundle_endpoint},
    )
    saved = request.method == "POST" and _submitted(
        form, lambda data: services.trust_domain_update(
            actor=request.user, trust_domain=domain, jwks=data["jwks"], bundle_endpoint=data["bundle_endpoint"],
        )
    )
    if saved:
        messages.success(request, f"Saved the bundle of {domain.name}.")
        return redirect("tokens:trustdomain-list")
    return _form_page(
        request, "tokens/trustdomain_form.html", form, domain=domain, cancel_url=reverse("tokens:trustdomain-list")
    )
