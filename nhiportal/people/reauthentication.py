"""Confirming who is at the keyboard before what a borrowed session must not do: making an API
token, setting up, replacing or removing the authenticator app (GitHub's "sudo mode").

A session holds whoever holds its cookie (a laptop left open, a stolen browser), so these ask
again for what only the person knows: their password, or, for someone who signs in through
single sign-on and has no password here, a code from their authenticator app. Someone with
neither has nothing the portal could ask, and is let through (the form says why). A sign-in, or a
confirmation, counts for CONFIRMED_FOR: the next such step within it asks nothing.

A wrong password here counts toward the sign-in lockout (django-axes: the same username and
address, the same NHI_LOGIN_FAILURE_LIMIT and NHI_LOGIN_LOCKOUT_MINUTES), so a session is no
way round it; a wrong code counts toward the app's own (second_factor.second_factor_check). The
password change page checks the old password the same way (password_views.py).
"""

import copy
from datetime import datetime, timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import QueryDict
from django.utils import timezone

from .second_factor import has_second_factor, second_factor_check
from .sessions import SIGN_IN_KEY

CONFIRMED_FOR = timedelta(minutes=10)
CONFIRMED_KEY = "confirmed_at"  # session data: when this session last confirmed who is at the keyboard

PASSWORD, CODE = "password", "code"
FIELD = {PASSWORD: "confirm_password", CODE: "confirm_code"}


def confirmation_method(person) -> str | None:
    """What the portal asks of this person: their password, else (single sign-on alone) a code
    of their app, else nothing it could check."""
    if person.has_usable_password():
        return PASSWORD
    if has_second_factor(person):
        return CODE
    return None


def _instant(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def last_confirmed_at(session) -> datetime | None:
    """When this session last proved who holds it: its sign-in (password and code, or the
    provider's), or a confirmation since."""
    signed_in = session.get(SIGN_IN_KEY)
    moments = [_instant(signed_in.get("at")) if isinstance(signed_in, dict) else None, _instant(session.get(CONFIRMED_KEY))]
    moments = [moment for moment in moments if moment is not None]
    return max(moments) if moments else None


def confirmed_until(session) -> datetime | None:
    """Until when this session asks nothing more; None when it must confirm now."""
    confirmed = last_confirmed_at(session)
    if confirmed is None or timezone.now() - confirmed >= CONFIRMED_FOR:
        return None
    return confirmed + CONFIRMED_FOR


def note_confirmed(request) -> None:
    request.session[CONFIRMED_KEY] = timezone.now().isoformat()


class PasswordLocked(Exception):
    """Too many wrong passwords for this username from this address: nothing is checked until `until`."""

    def __init__(self, until: datetime):
        super().__init__(until)
        self.until = until


def locked_message(until: datetime) -> str:
    return (
        f"Too many wrong passwords for your account from this address: try again after {until:%H:%M} UTC. "
        "If that was not you, someone holding this browser may be guessing it: tell your security team."
    )


def _locked_until(request, username: str) -> datetime:
    last = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).aggregate(at=Max("attempt_time"))["at"]
    return (last or timezone.now()) + settings.AXES_COOLOFF_TIME


def _as_axes_sees_it(request):
    """The request without its form: axes keeps a failed attempt's POST data, masking only the
    fields a sign-in form names password and username, so the fields of these forms
    (confirm_password, old_password, new_password1...) would be kept in the clear. And a request
    of its own, so axes's mark on it (answer with the sign-in lockout page) stays off this page,
    which says so next to the field instead."""
    seen = copy.copy(request)
    seen.POST = QueryDict()
    return seen


def password_confirms(request, person, password: str) -> bool:
    """Whether this is the person's password, checked as the sign-in page checks one (the same
    backends, so django-axes counts a wrong one toward that username and address's lockout, and
    writes the lock to the audit log once). Raises PasswordLocked while that pair is locked, even
    for the right password, and when this wrong one locks it. The right one clears the count, as
    a sign-in does."""
    username = person.get_username()
    credentials = {"username": username}
    seen = _as_axes_sees_it(request)
    if AxesProxyHandler.is_locked(seen, credentials):
        raise PasswordLocked(_locked_until(seen, username))
    signed_in = authenticate(seen, username=username, password=password)
    if signed_in is not None and signed_in.pk == person.pk:
        axes_reset(ip=seen.axes_ip_address, username=username)
        return True
    if AxesProxyHandler.is_locked(seen, credentials):
        raise PasswordLocked(_locked_until(seen, username))
    return False


class ConfirmsWhoIsThere(forms.Form):
    """A form that asks for the person's password (or a code of their app) when their session has
    not proved who holds it within CONFIRMED_FOR. Pass request=; the template shows
    `confirmation_note` beside the form, saying what is asked and why, or why nothing is.

    `code_already_asked`: the form asks for a current code of the app anyway (replacing or
    removing it), which stands for the confirmation of someone whose only means is that code."""

    def __init__(self, *args, request, code_already_asked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        person = request.user
        self.confirmation = None
        until = confirmed_until(request.session)
        method = confirmation_method(person)
        minutes = int(CONFIRMED_FOR.total_seconds() // 60)
        if until is not None:
            self.confirmation_note = (
                f"This browser proved it is you at {until - CONFIRMED_FOR:%H:%M} UTC (signing in, or confirming since): "
                f"your password is not asked again before {until:%H:%M} UTC."
                if method == PASSWORD else
                f"This browser proved it is you at {until - CONFIRMED_FOR:%H:%M} UTC: nothing more is asked before {until:%H:%M} UTC."
            )
        elif method == PASSWORD:
            self.confirmation = PASSWORD
            self.fields[FIELD[PASSWORD]] = forms.CharField(
                label="Your password", strip=False,
                widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                help_text=f"This browser has not confirmed it is you in the last {minutes} minutes. Not asked again for {minutes} minutes.",
            )
            self.confirmation_note = (
                "Your password is asked again first: whoever holds a signed-in browser (a laptop left open, a stolen "
                "session) must not be able to do this."
            )
        elif method == CODE and code_already_asked:
            self.confirmation = CODE  # the form's own code field confirms it (see confirmed_by_code)
            self.confirmation_note = "You have no password here: the code of your app below confirms it is you."
        elif method == CODE:
            self.confirmation = CODE
            self.fields[FIELD[CODE]] = forms.CharField(
                label="A code from your authenticator app", max_length=24, strip=True,
                widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
                help_text=f"Or one of your recovery codes. Not asked again for {minutes} minutes.",
            )
            self.confirmation_note = (
                f"You sign in through {settings.SSO['NAME']} and have no password here, so a code from your "
                "authenticator app confirms it is you: whoever holds a signed-in browser must not be able to do this."
            )
        else:
            self.confirmation_note = (
                f"Nothing is asked to confirm it is you: you sign in through {settings.SSO['NAME']}, with no password "
                "here and no authenticator app. Set up an app (Second factor) to have a code asked before this."
            )
        if self.confirmation and FIELD[self.confirmation] in self.fields:
            # First, so it is the first thing the person fills in.
            self.order_fields([FIELD[self.confirmation], *[name for name in self.fields if name != FIELD[self.confirmation]]])

    def clean_confirm_password(self):
        password = self.cleaned_data["confirm_password"]
        try:
            right = password_confirms(self.request, self.request.user, password)
        except PasswordLocked as locked:
            raise ValidationError(locked_message(locked.until)) from None
        if not right:
            raise ValidationError("That is not your password.")
        note_confirmed(self.request)
        return ""  # not kept in the form's data

    def clean_confirm_code(self):
        if not second_factor_check(user=self.request.user, code=self.cleaned_data["confirm_code"]):
            raise ValidationError("That is not a current code of your app, nor an unused recovery code.")
        note_confirmed(self.request)
        return ""

    def confirmed_by_code(self) -> None:
        """The caller checked the form's own code of the app (code_already_asked): that confirms it."""
        if self.confirmation == CODE:
            note_confirmed(self.request)
