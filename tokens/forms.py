"""Forms for the token service's pages. They validate input; the service modules write."""

from datetime import timedelta

from django import forms
from django.core.validators import MaxValueValidator
from django.contrib.auth import get_user_model
from django.utils import timezone

from inventory.identity_picker import GRANTABLE, REQUESTABLE, IdentityChoiceField
from inventory.people_picker import PersonChoiceField
from nhiportal import free_text
from nhiportal.conf import nhi_setting
from nhiportal.ids import IdsOnly, UuidsOnly, as_id
from nhiportal.instants import InstantField
from nhiportal.service_forms import bulk_action_form
from inventory.models import AIIdentity, Status

from .emergency import CONFIRM_ALL, CONFIRM_ONE, EVERY_SERVICE, confirmation_word
from .keys import SIGNING_ALGORITHMS
from .public_keys import MAX_PASTED, looks_private
from .models import FederatedIssuer, Service


def forget_pasted_private_key(form: forms.Form, error=None) -> None:
    """A private key pasted by mistake is not sent back into the page: blank every field that
    holds one, whatever the refusal was about (a private key inside invalid JSON, another
    field left empty, a name already taken)."""
    for field in form.fields:
        name = form.add_prefix(field)
        if looks_private(form.data.get(name, "")):
            form.data = form.data.copy()
            form.data[name] = ""


class ServiceForm(forms.ModelForm):
    owner = PersonChoiceField(queryset=get_user_model().objects.filter(is_active=True).order_by("username"))
    introspection_jwk = forms.CharField(
        label="Introspection public key (JWK)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=(
            "Optional. The service's public key, if it calls /oauth/introspect: it signs a private_key_jwt "
            "assertion with client_id = its audience (RS256 for an RSA key, unless its JWK says \"alg\": \"PS256\"). "
            "Leave empty for offline verification only."
        ),
    )

    class Meta:
        model = Service
        fields = [
            "name", "audience", "description", "owner", "environment", "trust_boundary", "sensitivity", "is_active", "requires_dpop",
            "metadata_url",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {
            "is_active": "Active (tokens can be issued for it)", "sensitivity": "Data sensitivity",
            "requires_dpop": "Takes only DPoP-bound tokens", "metadata_url": "Resource metadata URL",
        }
        help_texts = {
            "requires_dpop": "Its tokens are bound to the agent's own key (RFC 9449), so a copy that leaks into a log "
            "is useless; agents that send no DPoP proof are refused. The service must check the proofs, as the portal's token verifier for Python services does.",
            "audience": "The aud claim of its tokens, an absolute URI, e.g. https://crm.example.com.",
            "trust_boundary": "The zone it lives in; agents from another named zone are refused by policy.",
            "metadata_url": "Optional. Where it publishes its protected resource metadata (RFC 9728): the portal compares the "
            "scopes it advertises with these daily, so a tool that appears on an MCP server is noticed.",
        }

    reason = forms.CharField(
        label="Why", max_length=200, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed to deactivate it or remove a scope: the audit log and each token revoked keep it. "
        "A removed scope is taken off every grant (a grant left with none is revoked), so adding it back restores no one's access.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            del self.fields["is_active"]  # a new service starts active
            del self.fields["reason"]  # nothing to end yet


class ResourceMetadataForm(forms.Form):
    """Fill the registration in from the service's protected resource metadata (RFC 9728)."""

    metadata = forms.CharField(
        label="Service URL", max_length=500,
        help_text="Its resource URL, or its /.well-known/oauth-protected-resource URL: MCP servers and services "
        "built on the portal's token verifier publish one.",
    )


class ScopeForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, help_text="e.g. tickets:read")
    description = forms.CharField(max_length=255, required=False)
    consequential = forms.BooleanField(
        required=False, help_text="Sends money, mail or deletes data: autonomous agents need a person's approval."
    )


class _ScopeFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        # The rows sit in a table under column headings: a screen reader names each control
        # by its row too, as the column alone does not say which scope it belongs to.
        if index is None:
            return
        labels = {"name": "name", "description": "description", "consequential": "consequential", "DELETE": "remove"}
        for name, what in labels.items():
            if name in form.fields:
                form.fields[name].widget.attrs["aria-label"] = f"Scope {index + 1}: {what}"


ScopeFormSet = forms.formset_factory(ScopeForm, formset=_ScopeFormSet, extra=3, can_delete=True)


def scope_rows(formset) -> list[dict]:
    """The scopes a valid formset lists, blank and deleted rows left out."""
    return [
        form.cleaned_data
        for form in formset.forms
        if form.cleaned_data.get("name") and not form.cleaned_data.get("DELETE")
    ]


def _bundle_field():
    return forms.CharField(
        label="JWT bundle (JWKS)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text='The trust domain\'s JWKS: {"keys": [...]}, public keys with a kid each. '
        "Leave it empty to take the one the bundle endpoint serves.",
    )


def _endpoint_field():
    return forms.URLField(
        label="Bundle endpoint",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="The trust domain's SPIFFE bundle endpoint (https_web), e.g. https://spire.example.com:8443/. "
        "The portal fetches the bundle again as the bundle's refresh hint asks, so rotated keys keep working. "
        "Empty: the bundle is replaced by hand.",
    )


class TrustDomainBundleForm(forms.Form):
    bundle_endpoint = _endpoint_field()
    jwks = _bundle_field()


class TrustDomainForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="The SPIFFE trust domain, e.g. prod.example.com.")
    bundle_endpoint = _endpoint_field()
    jwks = _bundle_field()


class FederatedIssuerEditForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="What people call it, e.g. GitHub Actions, or the cluster's name.")
    audience = forms.CharField(
        max_length=255, required=False,
        help_text="The aud its tokens must carry, as the workload asks for it (GitHub Actions: the audience given to "
        "getIDToken; Kubernetes: the projected token's audience). Empty: this portal's token endpoint or issuer.",
    )
    bundle_endpoint = forms.URLField(
        label="JWKS URI", max_length=500, required=False, assume_scheme="https",
        help_text="Where its signing keys are published; the portal fetches them again every few minutes. "
        "Leave it and the JWKS empty to find it through the issuer's OpenID discovery document.",
    )
    jwks = forms.CharField(
        label="JWKS", required=False, widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='Its public keys, {"keys": [...]}, for an issuer the portal cannot reach (a cluster\'s '
        "kubectl get --raw /openid/v1/jwks). They are then replaced by hand.",
    )
    max_age = forms.IntegerField(
        label="Oldest token accepted (seconds since it was issued)", min_value=60, max_value=3600, initial=300,
        help_text="A token issued longer ago (its iat) is refused, whatever its exp says: GitHub Actions tokens last hours. "
        "A pod presents its projected token until it is 80% of its lifetime old: 480 seconds for the shortest, 600-second one.",
    )
    reusable = forms.BooleanField(
        label="Accept a token again until it expires", required=False,
        help_text="For Kubernetes projected tokens, which a pod presents until the kubelet refreshes them. "
        "Otherwise each token is accepted once, as a client assertion is.",
    )


class FederatedIssuerForm(FederatedIssuerEditForm):
    issuer = forms.CharField(
        max_length=500, help_text="Exactly as its tokens carry it in iss, e.g. https://token.actions.githubusercontent.com"
    )
    field_order = ["issuer", "name"]


class JWKCredentialForm(forms.Form):
    label = forms.CharField(max_length=120, required=False, help_text="e.g. the host or the key's rotation date.")
    jwk = forms.CharField(
        label="Public key",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=(
            "A public JWK (EC P-256, Ed25519, or RSA of 2048 bits or more), or a PEM public key. "
            "Never paste the private key: keep it with the agent. The key is used with one algorithm: "
            'its "alg" if the JWK has one, else ES256, EdDSA, or RS256 for RSA; '
            'an agent that signs PS256 registers its RSA key with "alg": "PS256" (a PEM key cannot say so).'
        ),
    )


class SpiffeCredentialForm(forms.Form):
    label = forms.CharField(max_length=120, required=False)
    spiffe_id = forms.CharField(
        label="SPIFFE ID", max_length=255, help_text="e.g. spiffe://prod.example.com/ns/support/sa/summariser"
    )


class FederatedCredentialForm(forms.Form):
    label = forms.CharField(max_length=120, required=False)
    federated_issuer = forms.ModelChoiceField(
        queryset=FederatedIssuer.objects.filter(distrusted_at__isnull=True).order_by("name"), label="Issuer", empty_label=None,
        help_text="A security admin registers the issuers the portal trusts.",
    )
    subject = forms.CharField(
        max_length=255,
        help_text="The sub of the workload's tokens, exactly: e.g. repo:acme/agents:environment:production "
        "(GitHub Actions) or system:serviceaccount:agents:summariser (Kubernetes). End it with * for every sub "
        "that starts with the rest, as a release pipeline's tags need: repo:acme/agents:ref:refs/tags/*.",
    )
    required_claims = forms.CharField(
        label="Other claims", required=False, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One a line, as name=value, each must match exactly: e.g. repository_owner=acme.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


class GrantReduceForm(forms.Form):
    """Which of a grant's scopes go: those no token carried in the window are ticked to start with."""

    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, label="Scopes to remove",
        help_text="Tokens that carry a removed scope are revoked. Removing every scope revokes the grant.",
    )
    reason = forms.CharField(max_length=200, widget=forms.Textarea(attrs={"rows": 2}), help_text="Recorded in the audit log.")

    def __init__(self, *args, grant, use, window_days: int, **kwargs):
        """use: the grant's stored use (tokens/usage.py), None before the first check."""
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, self._label(s, use, window_days)) for s in grant.scopes]
        if use is not None and use.unused:
            self.fields["scopes"].initial = list(use.unused_scopes)
            self.fields["reason"].initial = f"Not used in the last {window_days} days."

    @staticmethod
    def _label(scope: str, use, window_days: int) -> str:
        if use is None or not use.judged:
            return scope
        if scope in use.unused_scopes:
            return f"{scope}: not used in the last {window_days} days"
        return f"{scope}: used in the last {window_days} days"


# The unused-access list's bulk action, and the unused-identities list's.
UnusedScopesRemoveForm = bulk_action_form("grant", IdsOnly, noun="grant", plural="grants", verb="remove unused scopes from")
UnusedIdentitiesSuspendForm = bulk_action_form("identity", UuidsOnly, noun="identity", plural="identities", verb="suspend")


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False)


class EmergencyRevokeForm(forms.Form):
    """Which tokens to revoke is chosen, never preselected: an on-call who forgets to pick the
    service must not revoke everything. Every service takes a stronger word than one."""

    service = forms.ChoiceField(
        help_text="Only the tokens for this service, or every live token the portal issued.",
    )
    reason = forms.CharField(max_length=200, widget=forms.Textarea(attrs={"rows": 2}), help_text="Kept on each revoked token and in the audit trail.")
    confirm = forms.CharField(
        label="Type the confirmation", max_length=20,
        help_text=f"{CONFIRM_ONE} for one service; {CONFIRM_ALL} for every service.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {str(s.pk): s for s in Service.objects.order_by("name")}
        self.fields["service"].choices = [
            ("", "Choose…"), (EVERY_SERVICE, "Every service"), *((pk, s.name) for pk, s in self.services.items()),
        ]
        self.fields["service"].error_messages["required"] = "Choose the service whose tokens to revoke, or Every service."

    def clean_service(self) -> Service | None:
        """The service chosen; None for every service."""
        chosen = self.cleaned_data["service"]
        return None if chosen == EVERY_SERVICE else self.services[chosen]

    def clean(self):
        cleaned = super().clean()
        if "service" in cleaned and "confirm" in cleaned:
            word = confirmation_word(cleaned["service"])
            if cleaned["confirm"].strip() != word:
                what = "every service's tokens" if cleaned["service"] is None else "this service's tokens"
                self.add_error("confirm", f"Type {word}, in capitals, to revoke {what}.")
            else:
                cleaned["confirm"] = word
        return cleaned


class KeyCompromisedForm(forms.Form):
    reason = forms.CharField(
        max_length=200, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How the key was exposed; kept in the audit trail and on each revoked token.",
    )
    confirm = forms.CharField(label="Type the key's kid to confirm", max_length=64)

    def __init__(self, *args, kid: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kid = kid

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip() != self.kid:
            raise forms.ValidationError("This is not the key's kid.")
        return self.kid


class KeyRotateForm(forms.Form):
    alg = forms.ChoiceField(
        label="Algorithm of the key prepared next",
        choices=[(a, a) for a in SIGNING_ALGORITHMS],
        help_text="The published next key signs now, whatever its algorithm; a key of this one is published in its place "
        "and signs from the following rotation, so verifiers hold it first.",
    )


class GrantForm(forms.Form):
    # A security admin grants any identity in service: typed and picked, not a select of the inventory.
    identity = IdentityChoiceField(queryset=AIIdentity.objects.exclude(status=Status.OFFBOARDED), purpose=GRANTABLE)
    service = forms.ModelChoiceField(queryset=Service.objects.filter(is_active=True).order_by("name"))
    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, help_text="Only scopes of the chosen service count."
    )
    ends_at = InstantField(
        label="Ends at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=free_text.MAX_CHARS)

    def __init__(self, *args, refresh_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        services = self.fields["service"].queryset
        chosen = as_id(self.data.get("service") or self.initial.get("service"))
        choices = {}
        for service in services.prefetch_related("scopes"):
            choices[service.pk] = (service.name, [(f"{service.pk}:{s.name}", s.name) for s in service.scopes.all()])
        # Any service's scope is a valid choice, so one ticked before the service changed is
        # refused by clean() in words ("Choose only scopes of ..."), not as an unknown value;
        # the page shows the chosen service's scopes only, or a hint until one is chosen.
        self.fields["scopes"].choices = list(choices.values())
        if chosen in choices:
            self.fields["scopes"].widget.choices = [choices[chosen]]
            if not choices[chosen][1]:
                self.fields["scopes"].help_text = f"{choices[chosen][0]} offers no scope yet: a security admin adds them on its page."
        else:
            self.fields["scopes"].widget.choices = []
            self.fields["scopes"].help_text = "Choose the service first: its scopes appear here."
        if refresh_url:
            # Choosing a service redraws the scopes (htmx); without script, the form still works.
            self.fields["service"].widget.attrs.update({
                "hx-get": refresh_url, "hx-trigger": "change", "hx-include": "[name=identity],[name=service]",
                "hx-select": "#field-id_scopes", "hx-target": "#field-id_scopes", "hx-swap": "outerHTML",
            })

    def clean_ends_at(self):
        ends_at = self.cleaned_data["ends_at"]
        if ends_at <= timezone.now():
            raise forms.ValidationError("Choose a moment in the future.")
        return ends_at

    def clean(self):
        cleaned = super().clean()
        service = cleaned.get("service")
        if service and cleaned.get("scopes"):
            picked = [value.split(":", 1) for value in cleaned["scopes"]]
            if any(service_id != str(service.pk) for service_id, _ in picked):
                self.add_error("scopes", f"Choose only scopes of {service.name}.")
            cleaned["scope_names"] = [name for _, name in picked]
        return cleaned


class AccessRequestForm(GrantForm):
    """GrantForm's fields, for the identities this person may ask for."""

    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=free_text.MAX_CHARS,
        help_text="What the agent does with this access, and why until that date. The deciders read it.",
    )

    def __init__(self, *args, identities, **kwargs):
        super().__init__(*args, **kwargs)
        # Its picker searches the same identities: those in service this person may change.
        self.fields["identity"] = IdentityChoiceField(queryset=identities.exclude(status=Status.OFFBOARDED), purpose=REQUESTABLE)
        self.fields["ends_at"].help_text = f"At most {nhi_setting('ACCESS_REQUEST_MAX_DAYS')} days ahead."
        self.order_fields(["identity", "service", "scopes", "ends_at", "justification"])

    def clean_ends_at(self):
        # The service checks this too; said here, it comes with the form's other errors at once.
        ends_at = super().clean_ends_at()
        longest = nhi_setting("ACCESS_REQUEST_MAX_DAYS")
        if ends_at > timezone.now() + timedelta(days=longest):
            raise forms.ValidationError(f"Ask for at most {longest} days; ask again when it ends.")
        return ends_at


class ApprovalForm(forms.Form):
    minutes = forms.IntegerField(
        label="Approve for (minutes)", initial=60, min_value=1,
        help_text="The agent's tokens for this task expire when the window does.",
    )
    reason = forms.CharField(label="Note (optional)", max_length=200, required=False)

    def __init__(self, *args, longest: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["minutes"].validators.append(MaxValueValidator(longest))
        self.fields["minutes"].widget.attrs["max"] = longest


class RejectionForm(forms.Form):
    reason = forms.CharField(label="Why not", max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


def approval_forms(data=None, *, deciding: str = ""):
    """The approve and reject forms of the approval page; only the one being submitted is bound."""
    longest = nhi_setting("APPROVAL_WINDOW_MAX_MINUTES")
    return (
        ApprovalForm(data if deciding == "approve" else None, longest=longest, prefix="approve"),
        RejectionForm(data if deciding == "reject" else None, prefix="reject"),
    )


class NetworkRecogniseForm(forms.Form):
    address = forms.CharField(
        label="An address the agent asks from", max_length=64,
        help_text="Its network (the /24, or the /64 for IPv6) becomes one of the agent's: a request from there is no longer new to policy.",
    )


class DelegationForm(forms.Form):
    delegate = forms.UUIDField(
        label="client_id of the identity that may act for it",
        help_text="Its owners find it on its page. It will exchange this identity's tokens into narrower ones of its own, within its own grants.",
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="What it does for this identity.")


class ExposureFieldsMixin(forms.Form):
    where_found = forms.CharField(
        label="Where it was found", max_length=500,
        help_text="A file and line, a log, a ticket, a chat, a URL: where someone else could have read it.",
    )
    seen_at = InstantField(
        label="First seen there", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="When it was exposed, if known (UTC); empty means now. The dwell time runs from here.",
    )


class TokenExposureForm(ExposureFieldsMixin):
    token = forms.CharField(
        label="The leaked token or private key", max_length=MAX_PASTED, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Paste it as you found it (an Authorization: Bearer … line will do). An agent's access token (the portal "
        "checks its signature, revokes it and what was exchanged from it, and keeps only its id), a platform's token an "
        "agent signs in with (GitHub Actions, a cluster: never accepted again, and what it obtained is revoked), a "
        "person's API token (nhip_...: revoked too), or an agent's private key (PEM or JWK: the credential that "
        "registered its public key is disabled, revoking the tokens obtained with it; the key is never kept).",
    )
    field_order = ["token", "where_found", "seen_at"]


class CredentialExposureForm(ExposureFieldsMixin):
    pass
