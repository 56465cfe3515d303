"""What the token service's API reads and writes. Output fields are listed one by one:
no private key, token or secret can reach a response through a new model field."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.models import Environment, Sensitivity
from nhiportal import free_text
from nhiportal.api import QuerySerializer, TakesOnlyItsFields
from nhiportal.instants import ZonedInstantField

from ..access_requests import OWNER_STAGE, SERVICE_STAGE, stage_of
from ..keys import SIGNING_ALGORITHMS
from ..models import AccessRequestState, ExposureKind, FederatedIssuer, KeyState, Service
from ..public_keys import MAX_PASTED
from ..selectors import ACCESS_REQUEST_VIEWS, EXPOSURE_STATES, token_state


class ScopeSerializer(TakesOnlyItsFields, serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    consequential = serializers.BooleanField(required=False, default=False)


class ServiceSerializer(TakesOnlyItsFields, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    audience = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=free_text.MAX_CHARS)
    owner = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.filter(is_active=True))
    environment = serializers.ChoiceField(choices=Environment.choices, default=Environment.PRODUCTION)
    trust_boundary = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices, default=Sensitivity.INTERNAL)
    is_active = serializers.BooleanField(required=False, default=True)
    requires_dpop = serializers.BooleanField(
        required=False, default=False, help_text="Its tokens are issued only DPoP-bound (RFC 9449); requests without a proof are refused.",
    )
    scopes = ScopeSerializer(many=True, required=False, default=list)
    introspection_jwk = serializers.JSONField(required=False, allow_null=True, default=None)
    metadata_url = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="",
        help_text="Where it publishes its protected resource metadata (RFC 9728); its scopes are compared with these daily.",
    )
    metadata_checked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    metadata_drift = serializers.JSONField(
        read_only=True, help_text="What the last check found: {} in step; else unregistered, withdrawn, audience or error.",
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200,
        help_text="Why (on an update): required to deactivate it (is_active false) or to remove scopes; "
        "the audit event and each token revoked keep it. A removed scope is taken off every grant.",
    )

    def to_representation(self, service):
        data = super().to_representation(service)
        data["scopes"] = ScopeSerializer(service.scopes.all(), many=True).data
        return data


class ActivityDaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A day in UTC.")
    issued = serializers.IntegerField(help_text="Tokens issued to the identity that day.")
    refused = serializers.IntegerField(help_text="Its requests refused that day, by policy or by the portal.")
    capped = serializers.BooleanField(help_text="A count stopped at 10,000: the day had at least that many.")


class ReachSerializer(serializers.Serializer):
    service = serializers.IntegerField(source="service_id")
    service_name = serializers.CharField()
    environment = serializers.CharField()
    sensitivity = serializers.CharField(source="sensitivity_label", help_text="The service's data sensitivity.")
    requires_dpop = serializers.BooleanField(help_text="It takes only DPoP-bound tokens: a copied token alone is useless there.")
    scopes = serializers.ListField(child=serializers.CharField())
    consequential = serializers.ListField(child=serializers.CharField(), help_text="Those scopes that send money, mail or delete data.")
    ends_at = serializers.DateTimeField(help_text="When the grant ends.")
    through = serializers.CharField(help_text="The identity it acts for (a delegation); empty for its own grants.")


class FederatedWaySerializer(serializers.Serializer):
    issuer = serializers.CharField(help_text="The federated issuer's name.")
    subject = serializers.CharField()
    max_age = serializers.IntegerField(help_text="Seconds after it was made that a copied token of that issuer works at most.")
    reusable = serializers.BooleanField(help_text="True: a copy works again and again until it expires; false: once.")


class BlastRadiusSerializer(serializers.Serializer):
    gets_tokens = serializers.BooleanField(help_text="False: not active, so a copied key gets nothing until it is again.")
    keys = serializers.IntegerField(help_text="Enabled workload credentials: each is a way in.")
    networks = serializers.ListField(child=serializers.CharField(), help_text="Where tokens may be asked from; empty is anywhere.")
    per_minute = serializers.IntegerField(help_text="Its token rate limit; 0 is none.")
    ttl_seconds = serializers.IntegerField(help_text="The longest a token lives (policy may shorten it).")
    top_sensitivity = serializers.CharField(allow_null=True)
    reaches = ReachSerializer(many=True, help_text="Its live grants on active services.")
    through_delegation = ReachSerializer(many=True, help_text="Reached only with a token of an identity it acts for in hand.")
    federated = FederatedWaySerializer(many=True, help_text="Its federated credentials: a copied platform token is the way in.")


class TrustDomainSerializer(TakesOnlyItsFields, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=255)
    jwks = serializers.JSONField(required=False, help_text="The JWT bundle; leave it out to take the bundle endpoint's.")
    bundle_endpoint = serializers.CharField(
        max_length=500, required=False, allow_blank=True,
        help_text="The SPIFFE bundle endpoint (https_web) the portal fetches the bundle from again as it asks.",
    )
    refresh_hint = serializers.IntegerField(read_only=True, allow_null=True, help_text="Seconds between fetches, as the bundle asks (300 if it does not).")
    bundle_fetched_at = serializers.DateTimeField(read_only=True, allow_null=True)
    bundle_error = serializers.CharField(read_only=True, help_text="Why the last fetch failed; empty once one works.")
    distrusted_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Set: its SVIDs are refused (POST distrust/).")
    distrust_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class DistrustedSerializer(serializers.Serializer):
    """What distrusting a trust domain or a federated issuer ended, besides the holder itself."""

    credentials_disabled = serializers.IntegerField(help_text="Its credentials, disabled.")
    tokens_revoked = serializers.IntegerField(help_text="The live tokens obtained with them, revoked.")


class TrustDomainDistrustedSerializer(TrustDomainSerializer, DistrustedSerializer):
    pass


class TrustDomainUpdateSerializer(TakesOnlyItsFields, serializers.Serializer):
    jwks = serializers.JSONField(required=False)
    bundle_endpoint = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text="Empty: replaced by hand from now on.")


class GrantSerializer(TakesOnlyItsFields, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    identity = serializers.UUIDField(source="identity_id")
    service = serializers.IntegerField(source="service_id")
    service_audience = serializers.CharField(source="service.audience", read_only=True)
    service_active = serializers.BooleanField(
        source="service.is_active", read_only=True,
        help_text="False: its service is inactive, so no token is issued under the grant until the service is active again.",
    )
    scopes = serializers.ListField(child=serializers.CharField(max_length=80), allow_empty=False)
    starts_at = ZonedInstantField(required=False)
    ends_at = ZonedInstantField()
    justification = serializers.CharField(max_length=free_text.MAX_CHARS)
    granted_by = serializers.CharField(source="granted_by.username", read_only=True, allow_null=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revoked_by = serializers.CharField(source="revoked_by_label", read_only=True)
    revoke_reason = serializers.CharField(read_only=True)
    usage_checked_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the hourly grant_usage step last read the ledger for it; null before."
    )
    last_used_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="The latest token in the window that carried one of its scopes; null if none did."
    )
    unused_scopes = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text="Its scopes no token carried in NHI_UNUSED_ACCESS_DAYS (empty while the grant is younger than that).",
    )


class GrantQuerySerializer(QuerySerializer):
    identity = serializers.UUIDField(required=False, help_text="one identity's grants")
    state = serializers.ChoiceField(
        choices=["live", "ended", "revoked"], required=False, allow_blank=True, default="",
        help_text="live, ended (ran out) or revoked; blank: all (grants/unused/ lists the unused live ones)",
    )


class UnusedGrantSerializer(GrantSerializer):
    """A live grant with a scope no token carried for the whole window (NHI_UNUSED_ACCESS_DAYS)."""

    identity_name = serializers.CharField(source="identity.name", read_only=True)


class UnusedIdentitySerializer(serializers.Serializer):
    """An active identity that obtained no token in NHI_UNUSED_ACCESS_DAYS, though active all that time."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()
    environment = serializers.CharField()
    primary_owner = serializers.CharField(source="primary_owner_name", allow_null=True)
    orphaned = serializers.SerializerMethodField()
    active_since = serializers.DateTimeField(source="status_changed_at")
    last_token_at = serializers.DateTimeField(
        allow_null=True, help_text="Its latest token the ledger still keeps (NHI_TOKEN_RETENTION_DAYS); null if none."
    )

    def get_orphaned(self, identity) -> bool:
        return not identity.has_active_owner


class AccessRequestSerializer(TakesOnlyItsFields, serializers.Serializer):
    """What is asked (the writable fields) and how far the two stages got (read-only)."""

    id = serializers.IntegerField(read_only=True)
    identity = serializers.UUIDField(source="identity_id")
    identity_name = serializers.CharField(source="identity.name", read_only=True)
    service = serializers.IntegerField(source="service_id")
    service_audience = serializers.CharField(source="service.audience", read_only=True)
    # Empty scopes and a blank justification reach the service function, whose reasons say
    # what to send instead (one rule for the pages and the API).
    scopes = serializers.ListField(child=serializers.CharField(max_length=80), allow_empty=True)
    ends_at = ZonedInstantField(help_text="when the grant asked for would end, with its zone (e.g. 2027-01-31T18:00:00Z)")
    justification = serializers.CharField(allow_blank=True, max_length=free_text.MAX_CHARS, help_text="what the agent needs it for: the deciders read this")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    requested_at = serializers.DateTimeField(read_only=True)
    state = serializers.ChoiceField(choices=AccessRequestState.choices, read_only=True)
    stage = serializers.SerializerMethodField(help_text="the stage it waits at: owner, service, or null once decided or cancelled")
    owner_approved_by = serializers.CharField(source="owner_approved_by.username", read_only=True, allow_null=True, default=None)
    owner_approved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decided_by = serializers.CharField(source="decided_by_label", read_only=True, help_text="who approved it at the service stage, rejected or cancelled it")
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_reason = serializers.CharField(read_only=True)
    grant = serializers.IntegerField(source="grant_id", read_only=True, allow_null=True, help_text="the grant its approval made")

    @extend_schema_field(serializers.ChoiceField(choices=[OWNER_STAGE, SERVICE_STAGE], allow_null=True))
    def get_stage(self, access_request) -> str | None:
        return stage_of(access_request)


class AccessRequestQuerySerializer(QuerySerializer):
    view = serializers.ChoiceField(
        choices=ACCESS_REQUEST_VIEWS, required=False, default="all",
        help_text="all: those you may see; mine: those you asked; waiting: those waiting for your decision, oldest first",
    )
    state = serializers.ChoiceField(
        choices=["pending", *AccessRequestState.values], required=False, allow_blank=True, default="",
        help_text="pending is either stage; with view=waiting every request listed is pending",
    )


class DelegationSerializer(TakesOnlyItsFields, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    principal = serializers.UUIDField(source="principal_id", help_text="the identity that lends its authority")
    delegate = serializers.UUIDField(source="delegate_id", help_text="the identity that may act for it")
    reason = serializers.CharField(max_length=500)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revoked_by = serializers.CharField(source="revoked_by_label", read_only=True)
    revoke_reason = serializers.CharField(read_only=True)


# Exposure.status: what a security admin made of the report.
EXPOSURE_STATUSES = ["reported", "confirmed", "dismissed"]


class ExposureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    identity = serializers.UUIDField(source="identity_id")
    kind = serializers.ChoiceField(choices=ExposureKind.choices)
    token_jti = serializers.CharField()
    credential_kid = serializers.CharField(source="credential.kid", allow_null=True, default=None)
    where_found = serializers.CharField()
    seen_at = serializers.DateTimeField()
    contained_at = serializers.DateTimeField()
    dwell_seconds = serializers.SerializerMethodField()
    was_live = serializers.BooleanField()
    tokens_revoked = serializers.IntegerField()
    reported_by = serializers.CharField(source="reported_by.username", allow_null=True, default=None)
    told_at = serializers.DateTimeField(allow_null=True, help_text="when the identity's owners were emailed; null: not yet")
    owners_told = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=EXPOSURE_STATUSES, help_text="reported; confirmed by a security admin (which suspends the identity); or dismissed")
    confirmed_at = serializers.DateTimeField(allow_null=True)
    confirmed_by = serializers.CharField(source="confirmed_by.username", allow_null=True, default=None)
    confirm_reason = serializers.CharField()
    dismissed_at = serializers.DateTimeField(allow_null=True)
    dismissed_by = serializers.CharField(source="dismissed_by.username", allow_null=True, default=None)
    dismiss_reason = serializers.CharField()

    def get_dwell_seconds(self, exposure) -> int:
        return int(exposure.dwell.total_seconds())


class TokenExposureSerializer(TakesOnlyItsFields, serializers.Serializer):
    token = serializers.CharField(
        write_only=True, max_length=MAX_PASTED,
        help_text="the leaked access token, platform token (a federated credential's), personal API token (nhip_...) or an "
        "agent's private key (PEM or JWK), as found (an `Authorization: Bearer ...` line will do): checked, revoked, shut out "
        "or its credential disabled, never stored",
    )
    where_found = serializers.CharField(max_length=500, write_only=True)
    seen_at = ZonedInstantField(required=False, allow_null=True, default=None, write_only=True)
    tokens_revoked = serializers.IntegerField(read_only=True)
    was_live = serializers.BooleanField(read_only=True)
    personal_api_token = serializers.BooleanField(read_only=True, default=False, help_text="it was a person's API token, not an agent's")
    kind = serializers.CharField(
        read_only=True, help_text="token (an agent's access token), platform (a platform's token, never accepted again), "
        "credential (a private key: the credential that registered it is disabled) or personal_api_token",
    )


class ReasonSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class GrantReduceSerializer(TakesOnlyItsFields, serializers.Serializer):
    scopes = serializers.ListField(child=serializers.CharField(max_length=80), help_text="The scopes to take off the grant; all of them revokes it.")
    reason = serializers.CharField(max_length=200)


class OptionalReasonSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CredentialSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    identity = serializers.UUIDField(source="identity_id", read_only=True)
    kind = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    kid = serializers.CharField(read_only=True)
    thumbprint = serializers.CharField(read_only=True)
    public_jwk = serializers.JSONField(read_only=True, allow_null=True, help_text="A public key credential's JWK; null for the others.")
    spiffe_id = serializers.CharField(read_only=True)
    federated_issuer = serializers.CharField(source="federated_issuer.issuer", read_only=True, default="")
    subject = serializers.CharField(read_only=True, help_text="A federated credential: the sub of the issuer's tokens.")
    refused_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="When an assertion or token naming it was last refused.")
    refusal = serializers.CharField(read_only=True, help_text="Why (the agent itself only heard invalid_client).")
    required_claims = serializers.DictField(child=serializers.CharField(), read_only=True)
    enabled = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    disabled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    disabled_by = serializers.CharField(source="disabled_by_label", read_only=True)
    disable_reason = serializers.CharField(read_only=True)
    rotation_due = serializers.BooleanField(
        read_only=True, help_text="An enabled public key older than NHI_CREDENTIAL_MAX_AGE_DAYS: add a new one, then disable this."
    )


class CredentialQuerySerializer(QuerySerializer):
    identity = serializers.UUIDField(required=False, help_text="one identity's credentials")


class CredentialCreateSerializer(TakesOnlyItsFields, serializers.Serializer):
    """A public JWK, a SPIFFE ID, or a federated issuer's subject."""

    identity = serializers.UUIDField()
    label = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    jwk = serializers.JSONField(
        required=False,
        help_text='A public JWK. It verifies one algorithm: its "alg", else ES256, EdDSA, or RS256 for RSA '
        '(an RSA key for PS256 says "alg": "PS256").',
    )
    spiffe_id = serializers.CharField(max_length=255, required=False)
    federated_issuer = serializers.PrimaryKeyRelatedField(
        queryset=FederatedIssuer.objects.all(), required=False, help_text="With subject: the federated issuer's id."
    )
    subject = serializers.CharField(
        max_length=255, required=False,
        help_text="The sub of the issuer's workload tokens; ending in * after a : or /, every sub that starts with the rest.",
    )
    required_claims = serializers.JSONField(
        required=False, help_text='Other claims its tokens must carry, exactly: {"repository_owner": "acme"}.'
    )

    def validate(self, data):
        if sum(name in data for name in ("jwk", "spiffe_id", "subject")) != 1:
            raise serializers.ValidationError("Send one of jwk (a public JWK), spiffe_id, or federated_issuer and subject.")
        if ("subject" in data) != ("federated_issuer" in data):
            raise serializers.ValidationError("A federated credential needs both federated_issuer and subject.")
        return data


class FederatedIssuerUpdateSerializer(TakesOnlyItsFields, serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    audience = serializers.CharField(
        max_length=255, required=False, allow_blank=True,
        help_text="The aud its tokens must carry; empty: this portal's token endpoint or issuer.",
    )
    jwks = serializers.JSONField(required=False, help_text="Its public keys; leave it out to fetch them.")
    bundle_endpoint = serializers.CharField(
        max_length=500, required=False, allow_blank=True,
        help_text="Its JWKS URI, fetched again every few minutes; empty with no jwks: found by OpenID discovery.",
    )
    max_age = serializers.IntegerField(required=False, help_text="How long after it was issued (iat) a token is accepted, in seconds (60 to 3600).")
    reusable = serializers.BooleanField(required=False, help_text="Accept a token again until it expires (Kubernetes projected tokens).")


class FederatedIssuerSerializer(FederatedIssuerUpdateSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    issuer = serializers.CharField(max_length=500, help_text="Exactly as its tokens carry it in iss (https).")
    bundle_fetched_at = serializers.DateTimeField(read_only=True, allow_null=True)
    bundle_error = serializers.CharField(read_only=True, help_text="Why the last fetch failed; empty once one works.")
    distrusted_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Set: its tokens are refused (POST distrust/).")
    distrust_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class FederatedIssuerDistrustedSerializer(FederatedIssuerSerializer, DistrustedSerializer):
    pass


class TokenSerializer(serializers.Serializer):
    """A ledger row: facts about a token, never the token."""

    jti = serializers.CharField()
    audience = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    exchanged_from = serializers.CharField(source="parent.jti", allow_null=True, default=None)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(source="revoked_by_label")
    revoke_reason = serializers.CharField()


class IssuedTokenSerializer(serializers.Serializer):
    """A row of the issued-token ledger across identities: facts about a token, never the token."""

    id = serializers.IntegerField(help_text="The ledger row's id (tokens/{id}/); the token itself is named by its jti.")
    jti = serializers.CharField()
    identity = serializers.UUIDField(source="identity_id")
    identity_name = serializers.CharField(source="identity.name")
    audience = serializers.CharField()
    service = serializers.IntegerField(source="task.service_id", help_text="The service of the task the token was issued for.")
    scopes = serializers.ListField(child=serializers.CharField())
    task = serializers.UUIDField(source="task_id")
    exchanged_from = serializers.IntegerField(
        source="parent_id", allow_null=True, help_text="The ledger id of the token it was exchanged from (RFC 8693); null if none.",
    )
    credential = serializers.IntegerField(
        source="credential_id", allow_null=True, help_text="The workload credential the agent proved itself with; null once removed.",
    )
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    state = serializers.SerializerMethodField(help_text="live, expired or revoked")
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(source="revoked_by_label")
    revoke_reason = serializers.CharField()
    dpop_bound = serializers.SerializerMethodField(help_text="Bound to the agent's key (DPoP, RFC 9449): a copy is useless without it.")
    dpop_jkt = serializers.CharField(source="cnf_jkt", help_text="The thumbprint of that key (cnf.jkt); empty for a bearer token.")
    signing_kid = serializers.CharField(help_text="The portal's signing key that signed it.")

    def get_state(self, token) -> str:
        return token_state(token)

    def get_dpop_bound(self, token) -> bool:
        return bool(token.cnf_jkt)


class IssuedTokenRevokedSerializer(IssuedTokenSerializer):
    tokens_revoked = serializers.IntegerField(help_text="This token and those exchanged from it, or in the sub-tasks that ended.")
    tasks_ended = serializers.IntegerField(help_text="Sub-tasks opened by exchanging it, which ended with it.")


class TaskSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    identity = serializers.UUIDField(source="identity_id")
    identity_name = serializers.CharField(source="identity.name")
    service = serializers.CharField(source="service.audience")
    service_id = serializers.IntegerField(help_text="The service's id, as the `service` filter takes it.")
    parent = serializers.UUIDField(source="parent_id", allow_null=True)
    intent = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices, allow_null=True, help_text="The data sensitivity the task declared; null: none.")
    state = serializers.SerializerMethodField(help_text="open or ended")
    authorization_details = serializers.JSONField()
    opened_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    ended_by = serializers.CharField(source="ended_by_label")
    end_reason = serializers.CharField()
    approval = serializers.CharField(source="approval_state", help_text='"" (none needed), pending, lapsed, approved, expired, rejected or withdrawn')
    approved_by = serializers.CharField(source="approved_by.get_username", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    approval_expires_at = serializers.DateTimeField(allow_null=True)
    tokens = TokenSerializer(many=True)

    def get_state(self, task) -> str:
        return "open" if task.is_open else "ended"


class TaskQuerySerializer(QuerySerializer):
    identity = serializers.UUIDField(required=False, help_text="one identity's tasks")
    open = serializers.BooleanField(required=False, help_text="true: only the tasks not ended yet; false: only the ended ones; left out: both")
    approval = serializers.ChoiceField(
        choices=["pending"], required=False, allow_blank=True, default="",
        help_text="pending: only the tasks waiting for a person's approval",
    )


class ExposureQuerySerializer(QuerySerializer):
    state = serializers.ChoiceField(
        choices=EXPOSURE_STATES, required=False, allow_blank=True, default="",
        help_text="open (neither confirmed nor dismissed), confirmed or dismissed; blank: all",
    )


class ApprovalSerializer(TakesOnlyItsFields, serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, help_text="the approval window; the task's tokens expire with it")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SigningKeySerializer(serializers.Serializer):
    kid = serializers.CharField()
    alg = serializers.CharField()
    state = serializers.ChoiceField(choices=KeyState.choices)
    public_jwk = serializers.JSONField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    retiring_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)
    compromised_at = serializers.DateTimeField(allow_null=True, help_text="when it was reported compromised; null: never")
    compromised_by_label = serializers.CharField(help_text="who reported it")
    compromise_reason = serializers.CharField()
    compromise_tokens_revoked = serializers.IntegerField(help_text="the live tokens it had signed, revoked by the report")


class EmergencyRevokeSerializer(TakesOnlyItsFields, serializers.Serializer):
    """Which tokens is said, never assumed (tokens/emergency.py): a `service`, or `all: true`."""

    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), required=False, allow_null=True, default=None,
        help_text="Revoke the live tokens for this service only.",
    )
    all = serializers.BooleanField(required=False, default=False, help_text="true: revoke every live token, of every service.")
    reason = serializers.CharField(max_length=200)

    def validate(self, attrs):
        if attrs["service"] is not None and attrs["all"]:
            raise serializers.ValidationError({"all": ["Send a service or all: true, not both."]})
        if attrs["service"] is None and not attrs["all"]:
            raise serializers.ValidationError(
                {"service": ["Say which tokens: a service id, or all: true to revoke every live token of every service."]}
            )
        return attrs


class RevokedSerializer(serializers.Serializer):
    tokens_revoked = serializers.IntegerField()


class RotateSerializer(TakesOnlyItsFields, serializers.Serializer):
    alg = serializers.ChoiceField(choices=SIGNING_ALGORITHMS, required=False)


class SourceNetworkSerializer(serializers.Serializer):
    identity = serializers.UUIDField(source="identity_id", read_only=True)
    identity_name = serializers.CharField(source="identity.name", read_only=True)
    network = serializers.CharField(read_only=True, help_text="The IPv4 /24 or IPv6 /64 a token was issued to.")
    first_seen_at = serializers.DateTimeField(read_only=True)
    baseline = serializers.BooleanField(read_only=True, help_text="The identity's first network; any later one was news (identity.new_network).")
    recognised_by = serializers.CharField(
        source="recognised_by_label", read_only=True,
        help_text="Who recognised it before any token came from it (a policy refused the first on context.new_network); empty when a token did.",
    )


class NetworkRecogniseSerializer(TakesOnlyItsFields, serializers.Serializer):
    identity = serializers.UUIDField()
    address = serializers.CharField(max_length=64, help_text="An address the agent asks from; its /24 or /64 becomes one of its networks.")

