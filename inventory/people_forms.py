"""Forms of the people pages (security admins): hand over, deactivate or reactivate, roles,
reset a lost second factor, end their sessions."""

from django import forms
from django.contrib.auth import get_user_model

from nhiportal.people.roles import ALL_ROLES, ROLE_LABELS

from .handover import identities_to_hand_over
from .people_picker import PersonChoiceField, owner_picker


class HandOverForm(forms.Form):
    successor = PersonChoiceField(
        queryset=None, label="Hand over to",
        help_text="Takes their place on each identity they own (primary where they were primary) and each service they own.",
    )
    reason = forms.CharField(max_length=200, help_text="Recorded on each identity and service that moves.")

    def __init__(self, *args, leaver, **kwargs):
        super().__init__(*args, prefix="handover", **kwargs)
        successor = self.fields["successor"]
        if identities_to_hand_over(leaver).exists():
            # The successor becomes an owner of those identities: the picker offers only people
            # who may be. Anyone else posted is refused by the service, naming their role.
            successor.widget = owner_picker()
            successor.help_text += " Someone with the owner or security admin role: they become an owner of identities."
        successor.queryset = get_user_model().objects.filter(is_active=True).exclude(pk=leaver.pk).order_by("username")


class DeactivateForm(forms.Form):
    reason = forms.CharField(max_length=200, help_text="Recorded in the audit log. Their sessions end, they can no longer sign in, their API tokens are revoked.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="deactivate", **kwargs)


class ReactivateForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="reactivate", **kwargs)


class SecondFactorResetForm(forms.Form):
    reason = forms.CharField(max_length=200, help_text="For someone who lost their phone: they sign in with their password alone, then set up a new app.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="second_factor", **kwargs)


class EndSessionsForm(forms.Form):
    reason = forms.CharField(max_length=200, help_text="Recorded in the audit log, e.g. a stolen laptop. They can sign in again unless deactivated.")
    confirm = forms.BooleanField(label="Sign them out of every browser now", error_messages={"required": "Tick this to confirm."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="sessions", **kwargs)


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=[(name, ROLE_LABELS[name]) for name in ALL_ROLES], required=False, widget=forms.CheckboxSelectMultiple, label="Member of",
        help_text="Owners register and answer for identities; reviewers decide; compliance reads everything; security admins run the portal.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="roles", **kwargs)
