"""Forms for the inventory pages. They validate input; the services in services.py write."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils.html import format_html

from nhiportal import free_text
from nhiportal.conf import nhi_setting
from nhiportal.identity_filter import name_key
from nhiportal.ids import IdsOnly, UuidsOnly
from nhiportal.people.roles import is_security_admin
from nhiportal.service_forms import bulk_action_form

from . import networks
from .bulk import NOT_YOURS, batch_limit
from .models import MAX_TOKEN_RATE_PER_MINUTE, NAME_TAKEN, AIIdentity, Environment, Kind, OwnerRole
from .owner_roles import ask_a_security_admin, cannot_own, may_own, refusals
from .people_picker import PeopleChoiceField, PersonChoiceField, owner_picker, owners_picker
from .policy_facts import POLICY_FACTS, fixed_because, in_service, loosened
from .selectors import people_who_can_own
from .services import EDITABLE_FIELDS, PRIMARY_OWNER_DECIDES, name_taken

MAX_ATTESTATION_INTERVAL_DAYS = 365
# Identity fields that only security admins set, on the pages and the API alike.
SECURITY_ADMIN_FIELDS = {"attestation_interval_days": "the attestation interval", "token_rate_per_minute": "the token rate limit"}


class ReportsBadVersion:
    """A hidden field has no place to show its error, so a missing or bad version is reported above the form."""

    def clean(self):
        cleaned = super().clean()
        if "version" in self._errors:
            self.add_error(None, "This page is out of date. Reload it and try again.")
        return cleaned


class VersionedForm(ReportsBadVersion, forms.Form):
    """Carries the identity's version as loaded, so a change made meanwhile is refused, not overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class NetworksField(forms.CharField):
    """Networks one per line (or separated by commas or spaces), kept as a list of CIDRs."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "10.20.0.0/16\n2001:db8:42::/48"})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        text = super().to_python(value)
        return networks.normalized(text.replace(",", " ").split())


class IdentityForm(forms.ModelForm):
    """The identity's descriptive fields, shared by the register and edit pages."""

    allowed_networks = NetworksField(
        required=False,
        label="Allowed networks",
        help_text="Where its tokens may be asked for from: one network or address per line. "
        "Empty: anywhere. A key used from elsewhere gets no token.",
    )

    attestation_interval_days = forms.IntegerField(
        label="Attestation interval (days)",
        validators=[MinValueValidator(1), MaxValueValidator(MAX_ATTESTATION_INTERVAL_DAYS)],
        help_text="How often an owner must confirm the identity is still needed.",
    )

    token_rate_per_minute = forms.IntegerField(
        label="Token rate limit (a minute)",
        required=False,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TOKEN_RATE_PER_MINUTE)],
        help_text="The most tokens it may obtain in a minute; more are refused until it slows down. "
        "Empty: the portal's default.",
    )

    class Meta:
        model = AIIdentity
        fields = list(EDITABLE_FIELDS)
        widgets = {
            "purpose": forms.Textarea(attrs={"rows": 3}),
            "offboarding_plan": forms.Textarea(attrs={"rows": 3}),
        }
        error_messages = {"name": {"unique": NAME_TAKEN}}
        help_texts = {
            "name": "Unique in the portal whatever the case of its letters, e.g. support-summariser-prod.",
            "purpose": "What it does and for whom: reviewers judge its access against this.",
            "offboarding_plan": "What must happen when it is retired (keys, data, downstream systems).",
        }

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].required = True
        for name in ("purpose", "offboarding_plan"):
            free_text.limit(self.fields[name])
        # Lengthening the interval or raising the rate limit weakens a control, so only
        # security admins set them.
        if not is_security_admin(actor):
            for name in SECURITY_ADMIN_FIELDS:
                del self.fields[name]
            if not self.instance._state.adding and in_service(self.instance):
                # Policy decides on these (inventory/policy_facts.py): the owner sees why they
                # are fixed, or which way they may still move, before trying.
                fixed = fixed_because(self.instance)
                for name in ("autonomy", "environment", "trust_boundary"):
                    self.fields[name].disabled = True
                    self.fields[name].help_text = fixed
                self.fields["sensitivity_ceiling"].help_text = "You may lower it; a security admin raises it."
                self.fields["allowed_networks"].help_text += " You may narrow them; a security admin widens or clears them."
        else:
            if self.instance._state.adding:
                self.fields["attestation_interval_days"].initial = nhi_setting("ATTESTATION_INTERVAL_DAYS")
            default = nhi_setting("TOKEN_RATE_PER_MINUTE")
            self.fields["token_rate_per_minute"].widget.attrs["placeholder"] = f"{default} (the portal's default)" if default else "no limit (the portal's default)"

    def clean_name(self):
        # Next to the field, as the service would refuse it; the database's constraint on the
        # name in lower case would otherwise answer above the form, naming no field.
        name = name_key(self.cleaned_data["name"])
        unchanged = not self.instance._state.adding and name == self.instance.name
        if name and not unchanged and name_taken(name, other_than=None if self.instance._state.adding else self.instance.pk):
            raise ValidationError(NAME_TAKEN)
        return name

    def descriptive_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


OWNERS_MAY_BE = "Someone with the owner or security admin role."


def _may_own(person):
    """The person, if they may be picked as an owner; refused next to the field otherwise."""
    if person is not None and not may_own(person):
        raise ValidationError(cannot_own(person))
    return person


def _may_all_own(people):
    """The people, if each one may be picked as an owner (inventory/owner_roles.py)."""
    refused = refusals(people)
    if refused:
        raise ValidationError(refused)
    return people


class RegisterForm(IdentityForm):
    primary_owner = PersonChoiceField(
        queryset=None, widget=owner_picker(), help_text=f"The person accountable for it. {OWNERS_MAY_BE}"
    )
    backup_owners = PeopleChoiceField(
        queryset=None, required=False, widget=owners_picker(),
        help_text="Who answers for it when the primary owner cannot: people with the owner or security admin role.",
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, actor=actor, **kwargs)
        people = people_who_can_own()
        self.fields["primary_owner"].queryset = people
        self.fields["backup_owners"].queryset = people
        self.fields["primary_owner"].initial = actor.pk
        if not is_security_admin(actor):
            # An owner registers what they answer for; handing it to someone else is a change
            # of owners, done (and recorded) on the owners page once it exists.
            self.fields["primary_owner"].queryset = people.filter(pk=actor.pk)
            self.fields["primary_owner"].disabled = True
            self.fields["primary_owner"].help_text = "You. Name other owners as backups, or hand it over later."

    # The service refuses these people too (identity_register); checked here as well so that an
    # import (inventory/imports.py) names every line that picks one, not only the first.
    def clean_primary_owner(self):
        return _may_own(self.cleaned_data["primary_owner"])

    def clean_backup_owners(self):
        primary = self.cleaned_data.get("primary_owner")
        return _may_all_own([p for p in self.cleaned_data["backup_owners"] if primary is None or p.pk != primary.pk])


class EditForm(ReportsBadVersion, IdentityForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, actor=actor, **kwargs)
        self.fields["version"].initial = self.instance.version

    def explain_policy_refusals(self, identity: AIIdentity, error, *, why: str, viewer) -> None:
        """The service refuses an owner widening or clearing the allowed networks once policy
        decides on them (inventory/policy_facts.py), in policy's words. Next to the field the page
        says it plainly instead: what they may still do, why not this, and whom to ask (the
        security admins by name: an owner cannot open the people pages). `identity`: as stored;
        `why`: why its facts are settled (token_selectors.why_settled)."""
        name = "allowed_networks"
        if error is None or name not in getattr(error, "error_dict", {}) or name not in self.fields:
            return
        # As typed (the refusal took it out of cleaned_data); it passed the field's checks before.
        try:
            typed = self.fields[name].clean(self[name].data)
        except ValidationError:
            return
        before = {fact: getattr(identity, fact) for fact in POLICY_FACTS}
        if name not in loosened(before, {**before, name: typed}):
            return  # refused for another reason (its spelling, too many): the service's words stand
        now = ", ".join(identity.allowed_networks) if identity.allowed_networks else "anywhere"
        plain = format_html(
            "You can narrow the allowed networks but not widen or clear them, because {}: policy already decides "
            "its tokens on the networks it has now ({}). Keep only networks inside those. {}",
            why, now, ask_a_security_admin(viewer, to="widen or clear them"),
        )
        self.errors[name] = self.error_class([plain], renderer=self.renderer)


class OwnersForm(VersionedForm):
    """Who may change what, and who may be made an owner, are the service's rules (inventory/
    services.identity_owners_set): the form says them beside the fields, and the service's
    refusal lands next to the field."""

    primary_owner = PersonChoiceField(
        queryset=None, widget=owner_picker(),
        help_text=f"The person accountable for the identity. {PRIMARY_OWNER_DECIDES} {OWNERS_MAY_BE}",
    )
    backup_owners = PeopleChoiceField(
        queryset=None, required=False, widget=owners_picker(),
        help_text="People with the owner or security admin role. A backup owner may add backups, or remove themselves; "
        "only the primary owner or a security admin removes others.",
    )

    def __init__(self, *args, identity: AIIdentity, owners, **kwargs):
        primary = next((o.person for o in owners if o.role == OwnerRole.PRIMARY), None)
        initial = {
            "version": identity.version,
            "primary_owner": primary.pk if primary else None,
            "backup_owners": [o.person_id for o in owners if o.role == OwnerRole.BACKUP],
        }
        super().__init__(*args, initial=initial, **kwargs)
        # Current owners stay choosable even if inactive, so saving does not silently drop them.
        people = get_user_model().objects.filter(Q(is_active=True) | Q(pk__in=[o.person_id for o in owners]))
        people = people.order_by("username")
        self.fields["primary_owner"].queryset = people
        self.fields["backup_owners"].queryset = people

    def clean_primary_owner(self):
        person = self.cleaned_data["primary_owner"]
        if not person.is_active:
            raise ValidationError("Choose an active person as primary owner.")
        return person


class TransitionForm(VersionedForm):
    """Activate and reactivate: a button, with an optional note for the record."""

    reason = forms.CharField(required=False, max_length=1000, label="Note")


class SuspendForm(VersionedForm):
    reason = forms.CharField(
        max_length=1000, label="Reason", help_text="Recorded in the audit log and shown to the owners."
    )


class OffboardForm(VersionedForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        label="Reason",
        help_text="Why it is retired; kept with its record.",
    )
    confirm_name = forms.CharField(label="Type the identity's name to confirm", max_length=120)

    def __init__(self, *args, identity: AIIdentity, **kwargs):
        super().__init__(*args, initial={"version": identity.version}, **kwargs)
        self.identity = identity

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.identity.name:
            raise ValidationError(f"Type {self.identity.name} exactly to confirm.")
        return typed


class AttestForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=1000,
        label="Note",
        help_text="Optional: anything reviewers should know (scope still right, changes planned).",
    )



class ClaimForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=free_text.MAX_CHARS,
        help_text="Why you are accountable for it now: you took over the team, the project, the code. The reviewer reads this.",
    )



class CampaignForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="What owners will see, e.g. “Q4 2026 production agents”.")
    due = forms.DateField(label="Attest by", widget=forms.DateInput(attrs={"type": "date"}), help_text="Each identity's attestation falls due then, unless it is due sooner.")
    environment = forms.ChoiceField(choices=[("", "Any environment")] + list(Environment.choices), required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind")] + list(Kind.choices), required=False)
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=free_text.MAX_CHARS,
        help_text="What owners should check before they attest: purpose, scopes, grants, who else uses it.",
    )
    repeat_days = forms.TypedChoiceField(
        label="Repeat", coerce=int, empty_value=None, required=False,
        choices=[("", "Once"), (30, "Every 30 days"), (90, "Every 90 days (quarterly)"), (180, "Every 180 days"), (365, "Every year")],
        help_text="The next round launches on the same scope that many days after this one, with as long to answer.",
    )


# The attestation list's bulk action: a reviewer confirms what waits for them (a rejection
# names what is wrong with each, so it is made one at a time).
AttestationsConfirmForm = bulk_action_form(
    "attestation", IdsOnly, noun="attestation", plural="attestations", verb="confirm", reason_required=False,
)


class IdentityBatchField(UuidsOnly, forms.ModelMultipleChoiceField):
    """The identities ticked on the list, carried through its confirmation page as hidden inputs.
    At most a batch (inventory/bulk.batch_limit), counted before the database is asked about them."""

    widget = forms.MultipleHiddenInput

    def clean(self, value):
        if value and len(set(value)) > batch_limit():
            raise ValidationError(
                f"Choose at most {batch_limit()} identities at once (a page of the list). Nothing was done.", code="too_many",
            )
        return super().clean(value)


class IdentityBatchForm(forms.Form):
    """Which identities a bulk action takes. `choices`: every identity the person may change
    (the one gate); an id outside it is refused in words that say nothing about that identity."""

    identity = IdentityBatchField(
        queryset=None,
        error_messages={"required": "Tick at least one identity.", "invalid_choice": NOT_YOURS, "invalid_pk_value": NOT_YOURS},
    )
    # The list's filters, so the person is brought back to the list they acted from.
    back = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identity"].queryset = choices


class BulkSuspendForm(IdentityBatchForm):
    reason = forms.CharField(
        max_length=1000, label="Reason", help_text="Recorded in each identity's audit log and shown to its owners.",
    )


class BulkReactivateForm(IdentityBatchForm):
    reason = forms.CharField(required=False, max_length=1000, label="Note", help_text="Optional; recorded in each identity's audit log.")


KEEP_PREVIOUS = "backup"


class BulkOwnersForm(IdentityBatchForm):
    primary_owner = PersonChoiceField(
        queryset=None, widget=owner_picker(), label="New primary owner",
        help_text=f"Accountable for each identity from now on. {OWNERS_MAY_BE}",
    )
    previous_primary = forms.ChoiceField(
        label="The previous primary owner",
        choices=[("remove", "Remove them: they no longer answer for these identities"), (KEEP_PREVIOUS, "Keep them as a backup owner")],
        initial="remove", widget=forms.RadioSelect,
        help_text="Backup owners stay as they are. Someone removed loses access at once.",
    )
    reason = forms.CharField(required=False, max_length=1000, label="Reason", help_text="Optional, e.g. “Alex moved to the data team”; recorded in each identity's audit log.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["primary_owner"].queryset = people_who_can_own()

    def clean_primary_owner(self):
        return _may_own(self.cleaned_data["primary_owner"])
