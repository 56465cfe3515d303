"""Pages of the second factor: the code asked after a right password, and the account page
where a person enrols an authenticator app, replaces it or removes it. Each of those three
confirms it is the person first (their password, unless given within minutes: reauthentication.py),
so a borrowed session can neither put its own app in, nor take the person's out."""

import io

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from .reauthentication import ConfirmsWhoIsThere
from .second_factor import (
    MAX_WRONG_CODES,
    PENDING_KEY,
    PENDING_SECONDS,
    VERIFIED_KEY,
    decrypt_secret,
    encrypt_secret,
    has_second_factor,
    new_secret,
    provisioning_uri,
    recovery_codes_left,
    required_for,
    second_factor_check,
    second_factor_enrol,
    second_factor_locked_until,
    second_factor_remove,
)

SETUP_KEY = "second_factor_setup"  # the secret being enrolled, encrypted like a kept one


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=24, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text="The six digits your authenticator app shows, or one of your recovery codes.",
    )


class EnrolForm(ConfirmsWhoIsThere, CodeForm):
    """Setting up the first app confirms it is the person: a thief on their session must not put
    in an app of their own, which the person's next sign-in would then need."""


class ReplaceForm(ConfirmsWhoIsThere, CodeForm):
    """Replacing an app asks for a code of the one in place, as removing it does: a borrowed
    session (or one signed in before the app was enrolled) must not swap in its own. And the
    password, as enrolling does."""

    current = forms.CharField(
        label="A code from the app you have now", max_length=24, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Or one of your recovery codes, if that app is lost.",
    )
    field_order = ["current", "code"]

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, request=request, code_already_asked=True, **kwargs)


class RemoveForm(ConfirmsWhoIsThere, CodeForm):
    """Turning the app off asks for a current code of it, and the password."""

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, request=request, code_already_asked=True, **kwargs)


def start_pending_sign_in(request, user, next_url: str):
    """After a right password: remember who owes a code, sign nobody in yet."""
    request.session[PENDING_KEY] = {
        "user": user.pk, "backend": user.backend, "at": timezone.now().timestamp(), "next": next_url, "wrong": 0,
    }
    return redirect("second-factor-verify")


def _start_again(request, message: str):
    from .sign_in_views import sign_in_page  # the sign-in page renders this module's form too

    request.session.pop(PENDING_KEY, None)
    return sign_in_page(request, message, 400)


@never_cache
def second_factor_verify(request):
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return redirect("login")
    person = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if person is None or timezone.now().timestamp() - pending["at"] > PENDING_SECONDS:
        return _start_again(request, "That took too long: sign in again.")
    locked_until = second_factor_locked_until(person)
    if locked_until:
        return _start_again(request, f"Too many wrong codes in a row for this account: try again after {locked_until:%Y-%m-%d %H:%M} UTC.")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if second_factor_check(user=person, code=form.cleaned_data["code"]):
            request.session.pop(PENDING_KEY)
            login(request, person, backend=pending["backend"])
            request.session[VERIFIED_KEY] = True
            return redirect(pending["next"])
        pending["wrong"] += 1
        if pending["wrong"] >= MAX_WRONG_CODES:
            return _start_again(request, "Too many wrong codes: sign in again.")
        request.session[PENDING_KEY] = pending
        form.add_error("code", "That code is not right, or was used already. Enter the code the app shows now.")
    return render(request, "registration/second_factor.html", {"form": form}, status=400 if form.errors else 200)


def _setup_secret(request, *, fresh: bool) -> str:
    if fresh or SETUP_KEY not in request.session:
        request.session[SETUP_KEY] = encrypt_secret(new_secret()).decode()
    return decrypt_secret(request.session[SETUP_KEY].encode())


@never_cache
@login_required
def second_factor_page(request):
    """Enrol (or replace) an authenticator app; see what is set up; remove it."""
    user = request.user
    enrolled = has_second_factor(user)
    enrolling = not enrolled or request.GET.get("replace") == "1" or request.method == "POST"
    form, codes = (ReplaceForm if enrolled else EnrolForm)(request.POST or None, request=request), None
    if request.method == "POST" and form.is_valid() and SETUP_KEY in request.session:
        try:
            if enrolled:
                if not second_factor_check(user=user, code=form.cleaned_data["current"]):
                    raise ValidationError({"current": "That is not a current code of your app, nor an unused recovery code."})
                form.confirmed_by_code()
            codes = second_factor_enrol(user=user, secret=_setup_secret(request, fresh=False), code=form.cleaned_data["code"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            request.session.pop(SETUP_KEY)
            request.session[VERIFIED_KEY] = True
            enrolled, enrolling = True, False
    secret = _setup_secret(request, fresh=request.method == "GET") if enrolling else None
    if enrolling:
        form.fields["code"].help_text = f"The six digits the {'new ' if enrolled else ''}app shows now."
    return render(request, "people/second_factor.html", {
        "enrolled": enrolled,
        "enrolling": enrolling,
        "secret": secret,
        "form": form,
        # Turning the app off, beside it (with what it asks as of now).
        "remove_form": RemoveForm(request=request) if enrolled and not enrolling else None,
        "recovery_codes": codes,  # shown on this response only
        "codes_left": recovery_codes_left(user) if enrolled else 0,
        "required": required_for(user),
        "factor": getattr(user, "second_factor", None) if enrolled else None,
    }, status=400 if form.errors else 200)


@never_cache
@login_required
@require_safe
def second_factor_qr(request):
    """The QR code of the secret being enrolled, for the app to scan (SVG, never cached)."""
    if SETUP_KEY not in request.session:
        raise Http404
    qr = segno.make(provisioning_uri(_setup_secret(request, fresh=False), request.user), error="m")
    image = io.BytesIO()
    qr.save(image, kind="svg", scale=5, dark="#1f2433", xmldecl=False)
    return HttpResponse(image.getvalue(), content_type="image/svg+xml")


@login_required
@require_POST
def second_factor_remove_view(request):
    """Removing your own app asks for a current code, and the password (unless given within
    minutes): a borrowed session must not strip it."""
    form = RemoveForm(request.POST, request=request)
    if not form.is_valid():
        # Shown above the page, away from the form: each error names its field.
        errors = [f"{form.fields[field].label}: {error}" for field in form.fields if field != "code" for error in form.errors.get(field, [])]
        messages.error(request, " ".join(errors) or "Enter a current code from your app (or a recovery code) to remove it.")
        return redirect("second-factor")
    if not second_factor_check(user=request.user, code=form.cleaned_data["code"]):
        messages.error(request, "Enter a current code from your app (or a recovery code) to remove it.")
        return redirect("second-factor")
    form.confirmed_by_code()
    try:
        second_factor_remove(person=request.user, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Your authenticator app is removed; you sign in with your password alone.")
    return redirect("second-factor")
