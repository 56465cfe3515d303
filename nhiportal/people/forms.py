from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError

from .models import TokenPurpose
from .reauthentication import ConfirmsWhoIsThere, PasswordLocked, locked_message, password_confirms
from .roles import is_security_admin
from .services import MAX_TOKEN_DAYS


class APITokenCreateForm(ConfirmsWhoIsThere):
    """A token acts as its person for up to a year, from anywhere: the person confirms it is
    them first (reauthentication.py), so a borrowed browser cannot mint one."""

    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “inventory sync script”.")
    days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        initial=90,
        help_text=f"1 to {MAX_TOKEN_DAYS} days. Shorter is safer; create a new one when it runs out.",
    )
    purpose = forms.ChoiceField(
        label="For",
        choices=TokenPurpose.choices,
        initial=TokenPurpose.API,
        help_text="REST API: for your scripts, acting as you on /api/v1/ with your rights. Directory sync: give it to "
        "your identity provider's SCIM provisioning (base URL /scim/v2/); it creates, updates and deactivates people, "
        "and nothing else.",
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if not is_security_admin(request.user):
            del self.fields["purpose"]  # everyone else's tokens are for the API


class CountedPasswordChangeForm(PasswordChangeForm):
    """Django's password change, whose old password is checked as the sign-in page checks one:
    wrong ones count toward the same lockout (django-axes, NHI_LOGIN_FAILURE_LIMIT for the
    username and address), and while it holds the form refuses even the right one, saying so
    next to the field."""

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        try:
            right = password_confirms(self.request, self.user, old_password)
        except PasswordLocked as locked:
            raise ValidationError(locked_message(locked.until), code="locked") from None
        if not right:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
