"""Forms for the policy pages. They validate input; services.py writes, simulate.py judges."""

import json
import uuid

from django import forms
from django.core.exceptions import ValidationError

from inventory import selectors as inventory_selectors
from inventory.models import Sensitivity
from tokens.models import CredentialKind, Service

from .cedar_request import ACTIONS
from .checking import policy_problems
from .examples import examples_parse
from .models import PolicyMode, PolicyVersion
from .replay import REPLAY_DEFAULT, REPLAY_MAX
from .services import REASON_NEEDED

MAX_TTL = 24 * 3600


class VersionForm(forms.Form):
    text = forms.CharField(
        label="Cedar policies",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 28, "class": "code-input", "spellcheck": "false"}),
        help_text='Every policy needs an @id("..."); @ttl_max("300") bounds the token lifetime it permits.',
    )
    examples = forms.CharField(
        label="Example requests (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "code-input", "spellcheck": "false"}),
        help_text='A list like [{"name": "...", "action": "issue", "principal": {...}, "service": {...}, '
        '"context": {...}, "expect": "deny", "expect_policies": ["..."]}]. Facts left out take the example values.',
    )
    note = forms.CharField(label="What changed, and why", max_length=255, required=False)
    mode = forms.ChoiceField(choices=PolicyMode.choices, initial=PolicyMode.ENFORCE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems = []

    def clean_text(self):
        text = self.cleaned_data["text"].replace("\r\n", "\n")
        # Kept for the page, which marks each problem's line in a numbered copy of the text.
        self.problems = policy_problems(text)
        if self.problems:
            raise ValidationError([str(p) for p in self.problems])
        return text

    def clean_examples(self):
        return examples_parse(self.cleaned_data["examples"])

    @staticmethod
    def initial_from(version_text: str, examples: list) -> dict:
        return {"text": version_text, "examples": json.dumps(examples, indent=2)}


class ActivateForm(forms.Form):
    """Activation. The version page's button sends nothing (`confirmed` false): it activates only
    when replay changes no outcome. The confirmation page, which shows what changes, sends
    `confirmed` with a reason (and the tick, for a version that denies every recent request)."""

    reason = forms.CharField(
        label="Why activate it now",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept with the activation in the audit log. Needed when outcomes would change.",
        error_messages={"required": REASON_NEEDED},
    )
    confirm_deny_all = forms.BooleanField(
        required=False, label="I understand this version denies every recent request; activate it anyway."
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput, initial=True)

    def __init__(self, *args, needs_reason: bool = False, denies_everything: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = needs_reason
        if not denies_everything:
            del self.fields["confirm_deny_all"]


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=PolicyMode.choices)


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"v{obj.number}{' (active)' if obj.is_active else ''}{f' — {obj.note}' if obj.note else ''}"


class CompareForm(forms.Form):
    old = VersionChoiceField(queryset=PolicyVersion.objects.none(), label="From", to_field_name="number")
    new = VersionChoiceField(queryset=PolicyVersion.objects.none(), label="To", to_field_name="number")

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old"].queryset = self.fields["new"].queryset = versions
        if not self.is_bound:
            self.initial.update(_usual_comparison(versions))


def _usual_comparison(versions) -> dict:
    """What a reviewer asks first: what the newest version changes against the active one (or,
    with the newest active, against the one before it)."""
    newest = list(versions.values_list("number", flat=True)[:2])
    if len(newest) < 2:
        return {}
    latest, before = newest
    active = versions.filter(is_active=True).values_list("number", flat=True).first()
    return {"old": before if active in (None, latest) else active, "new": latest}


class ReplayForm(forms.Form):
    limit = forms.IntegerField(
        label="Recent decisions to replay", min_value=1, max_value=REPLAY_MAX, initial=REPLAY_DEFAULT, required=False
    )


class SimulatorForm(forms.Form):
    identity = forms.CharField(label="Identity (name or id)", max_length=120)
    service = forms.ModelChoiceField(queryset=Service.objects.filter(is_active=True), empty_label="Choose a service")
    action = forms.ChoiceField(choices=[(a, a.capitalize()) for a in ACTIONS], initial="issue")
    scopes = forms.CharField(label="Scopes", max_length=1000, help_text="Space-separated, e.g. tickets:read tickets:write")
    intent = forms.CharField(max_length=500, required=False)
    sensitivity = forms.TypedChoiceField(
        label="Task data sensitivity",
        choices=[("", "Not stated"), *Sensitivity.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    requested_ttl = forms.IntegerField(label="Requested TTL (seconds)", min_value=0, max_value=MAX_TTL, initial=300)
    human_approval = forms.BooleanField(label="A person approved this task", required=False)
    sender_constrained = forms.BooleanField(label="The agent proves a DPoP key (sender-constrained token)", required=False)
    source_address = forms.GenericIPAddressField(
        label="Asked from (IP address)", required=False, unpack_ipv4=True,
        help_text="What policies see as context.source_address; empty: 0.0.0.0, an address no range holds.",
    )
    credential = forms.ChoiceField(
        label="Proves itself with", choices=CredentialKind.choices, initial=CredentialKind.JWK, required=False,
        help_text="What policies see as context.credential.",
    )
    new_network = forms.BooleanField(
        label="It asks from a network it never got a token from", required=False,
        help_text="What policies see as context.new_network.",
    )
    version = VersionChoiceField(
        queryset=PolicyVersion.objects.none(), required=False, empty_label="What applies now", to_field_name="number"
    )

    def clean_credential(self):
        return self.cleaned_data["credential"] or CredentialKind.JWK  # a link that does not say

    def __init__(self, *args, user, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["version"].queryset = versions

    def clean_identity(self):
        """An identity the person can see, by id or exact name; the same message either way."""
        value = self.cleaned_data["identity"].strip()
        visible = inventory_selectors.identity_list(user=self.user)
        try:
            identity = visible.filter(pk=uuid.UUID(value)).first()
        except ValueError:
            identity = visible.filter(name=value).first()
        if identity is None:
            raise ValidationError("No identity you can see has that name or id.")
        return identity

    def clean_scopes(self):
        scopes = self.cleaned_data["scopes"].split()
        if not scopes:
            raise ValidationError("Name at least one scope.")
        return scopes
