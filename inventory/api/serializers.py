"""What the identities API reads and writes. Output fields are listed one by one, so a new
model field never leaks into a response by accident."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory import attestation_reviews, networks
from nhiportal import free_text
from nhiportal.api import QuerySerializer, TakesOnlyItsFields
from inventory.forms import MAX_ATTESTATION_INTERVAL_DAYS
from inventory.models import MAX_TOKEN_RATE_PER_MINUTE
from inventory.lifecycle import allowed_actions
from inventory.models import AttestationReview, Autonomy, ClaimState, Environment, Kind, OwnerRole, Sensitivity, Status
from inventory.selectors import CAMPAIGN_ITEM_STATES, CLAIM_VIEWS, people_who_can_own


class OwnerSerializer(serializers.Serializer):
    username = serializers.CharField(source="person.username")
    role = serializers.ChoiceField(choices=OwnerRole.choices)
    active = serializers.BooleanField(source="person.is_active")
    since = serializers.DateTimeField()


def primary_first(ownerships) -> list:
    return sorted(ownerships, key=lambda o: (o.role != OwnerRole.PRIMARY, o.person.username))


class AttestationRejectionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the rejected attestation (GET /api/v1/attestations/{id}/)")
    attested_at = serializers.DateTimeField()
    reviewed_by = serializers.CharField(source="reviewed_by_label")
    reviewed_at = serializers.DateTimeField()
    reason = serializers.CharField(source="review_reason")


class WaitingAttestationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    attested_by = serializers.CharField(source="person.username")
    attested_at = serializers.DateTimeField()


class AttestationStandingSerializer(serializers.Serializer):
    """Where the identity's attestation stands with its reviewers."""

    waiting = WaitingAttestationSerializer(allow_null=True, help_text="the owner's latest attestation, while it waits for a reviewer")
    rejection = AttestationRejectionSerializer(allow_null=True, help_text="the latest review, if a reviewer rejected the attestation")
    counts_once_confirmed = serializers.BooleanField(
        help_text="a rejection stands: an owner's attestation (the one waiting, or the next) moves attestation_due and "
        "last_attested_at only once a reviewer confirms it",
    )
    detail = serializers.CharField(help_text="what that means, in words; empty when no rejection stands")


class IdentityListSerializer(serializers.ListSerializer):
    """Reads where every identity's attestation stands at once, not once per identity."""

    def to_representation(self, data):
        identities = list(data.all() if hasattr(data, "all") else data)
        self.child.attestation_standings = attestation_reviews.standings([i.pk for i in identities])
        return super().to_representation(identities)


class IdentitySerializer(serializers.Serializer):
    """An identity as the API shows it. Expects the viewset's annotated, prefetched queryset."""

    class Meta:
        list_serializer_class = IdentityListSerializer

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    purpose = serializers.CharField()
    environment = serializers.ChoiceField(choices=Environment.choices)
    trust_boundary = serializers.CharField()
    autonomy = serializers.ChoiceField(choices=Autonomy.choices)
    sensitivity_ceiling = serializers.ChoiceField(choices=Sensitivity.choices, allow_null=True)
    offboarding_plan = serializers.CharField()
    allowed_networks = serializers.ListField(child=serializers.CharField(), help_text="CIDRs its tokens may be asked for from; empty: anywhere.")
    status = serializers.CharField()
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField()
    attestation_interval_days = serializers.IntegerField()
    token_rate_per_minute = serializers.IntegerField(allow_null=True, help_text="Its own token rate limit; null: the portal's default.")
    token_rate_limit = serializers.IntegerField(help_text="The tokens a minute it may obtain, its own limit or the portal's; 0: no limit.")
    attestation_due = serializers.DateField(allow_null=True)
    last_attested_at = serializers.DateTimeField(allow_null=True)
    attestation_overdue = serializers.BooleanField(source="is_attestation_overdue")
    orphaned = serializers.BooleanField(source="is_orphaned")
    risk_score = serializers.IntegerField(help_text="0 to 100: the weights of what was wrong with it at the last hourly scoring.")
    risk_level = serializers.ChoiceField(choices=["high", "medium", "low", "none"])
    risk_factors = serializers.ListField(child=serializers.CharField(), help_text="What was wrong: orphaned, leaked, attestation_overdue, ...")
    attestation_review = serializers.SerializerMethodField()
    owners = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField()

    @extend_schema_field(OwnerSerializer(many=True))
    def get_owners(self, identity):
        return OwnerSerializer(primary_first(identity.ownerships.all()), many=True).data

    def get_allowed_actions(self, identity) -> list[str]:
        return allowed_actions(identity)

    @extend_schema_field(AttestationStandingSerializer)
    def get_attestation_review(self, identity):
        known = getattr(self, "attestation_standings", None)
        if known is None:  # one identity, not a list
            known = attestation_reviews.standings([identity.pk])
        standing = known.get(identity.pk) or attestation_reviews.Standing()
        return AttestationStandingSerializer({
            "waiting": standing.waiting, "rejection": standing.rejection,
            "counts_once_confirmed": standing.counts_once_confirmed, "detail": standing.notice,
        }).data


class _DescriptiveFields(TakesOnlyItsFields, serializers.Serializer):
    """The fields an owner describes an identity with (inventory.services.EDITABLE_FIELDS).
    What an identity shows but is not described with is named with where it changes."""

    elsewhere = {
        "status": "Read-only here: change it with POST identities/{id}/activate/, suspend/, reactivate/ or offboard/.",
        "owners": "Read-only here: change them with PUT identities/{id}/owners/.",
        "primary_owner": "Read-only here: change it with PUT identities/{id}/owners/.",
        "backup_owners": "Read-only here: change them with PUT identities/{id}/owners/.",
    }

    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=Kind.choices)
    environment = serializers.ChoiceField(choices=Environment.choices)
    # Required, as on the pages: reviewers judge an identity's access against its purpose.
    purpose = serializers.CharField(max_length=free_text.MAX_CHARS)
    trust_boundary = serializers.CharField(required=False, allow_blank=True, max_length=120)
    autonomy = serializers.ChoiceField(choices=Autonomy.choices, required=False)
    sensitivity_ceiling = serializers.ChoiceField(choices=Sensitivity.choices, required=False, allow_null=True)
    offboarding_plan = serializers.CharField(required=False, allow_blank=True, max_length=free_text.MAX_CHARS)
    allowed_networks = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=networks.MAX_NETWORKS,
        help_text="Networks or addresses its tokens may be asked for from, e.g. [\"10.20.0.0/16\"]; [] for anywhere.",
    )
    attestation_interval_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ATTESTATION_INTERVAL_DAYS,
        help_text="Security admins only: a longer interval weakens a control.",
    )
    token_rate_per_minute = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_TOKEN_RATE_PER_MINUTE,
        help_text="Security admins only: the most tokens it may obtain in a minute; null for the portal's default.",
    )


class PersonField(serializers.SlugRelatedField):
    """A person by username. Unknown and inactive people get the same answer, so the API does
    not tell who exists."""

    default_error_messages = {
        "does_not_exist": "No active person with the username {value}.",
        "invalid": "Give a username.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="username", queryset=people_who_can_own(), **kwargs)


class IdentityCreateSerializer(_DescriptiveFields):
    elsewhere = {"status": "Read-only: an identity is registered; activate it with POST identities/{id}/activate/."}

    primary_owner = PersonField(
        required=False, help_text="Username; you, unless you are a security admin. Someone with the owner or security admin role."
    )
    # Who may be made an owner is the service's rule (identity_register): its 400 names the field.
    backup_owners = PersonField(many=True, required=False, help_text="Usernames of people with the owner or security admin role.")


class IdentityUpdateSerializer(_DescriptiveFields):
    version = serializers.IntegerField(
        help_text="Required, on PATCH too: the version you last read; the update is refused with 409 if the identity changed since."
    )


class _VersionRequiredOnPatch(OpenApiSerializerExtension):
    """A PATCH body leaves out what it does not change, but never `version` (the server refuses
    one without it): drf-spectacular's PATCH body, all optional, says so too."""

    target_class = IdentityUpdateSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request" and "version" not in schema.get("required", []):
            schema["required"] = [*schema.get("required", []), "version"]
        return schema


class CurrentOrActivePersonField(PersonField):
    """A backup owner: an active person, or one of the identity's current owners even if inactive,
    so sending back the owners as read does not fail on someone who has left."""

    def get_queryset(self):
        current = self.context.get("current_owner_ids", [])
        return get_user_model().objects.filter(Q(is_active=True) | Q(pk__in=current))


class OwnersSerializer(TakesOnlyItsFields, serializers.Serializer):
    """Who is picked anew (made primary, or added as a backup) must have the owner or security
    admin role; those already owners in that place stay as they are. The service's rule
    (identity_owners_set), whose 400 names the field. Context: current_owner_ids."""

    primary_owner = PersonField(help_text="Username of an active person with the owner or security admin role.")
    backup_owners = CurrentOrActivePersonField(
        many=True, required=False, help_text="Usernames; anyone added must have the owner or security admin role."
    )
    version = serializers.IntegerField(
        required=False, help_text="Optional: refuse with 409 if the identity changed since this version."
    )


class OwnersOutputSerializer(serializers.Serializer):
    owners = OwnerSerializer(many=True)
    version = serializers.IntegerField()


class LifecycleSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Why. Required to suspend and to offboard; the attestation's note when attesting.",
    )
    version = serializers.IntegerField(
        required=False, help_text="Optional: refuse with 409 if the identity changed since this version."
    )


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    missing = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="What activation still needs."
    )


class ClaimSerializer(TakesOnlyItsFields, serializers.Serializer):
    """An ownership claim: what is claimed and why (the writable fields), and its decision (read-only)."""

    id = serializers.IntegerField(read_only=True)
    identity = serializers.UUIDField(source="identity_id", help_text="an orphaned identity (GET /api/v1/claims/orphaned/)")
    identity_name = serializers.CharField(source="identity.name", read_only=True)
    # A blank reason reaches the service function, whose refusal says what to write (one rule
    # for the pages and the API).
    reason = serializers.CharField(allow_blank=True, max_length=free_text.MAX_CHARS, help_text="why you are accountable for it now: the reviewer reads this")
    claimant = serializers.CharField(source="claimant.username", read_only=True)
    claimed_at = serializers.DateTimeField(read_only=True)
    state = serializers.ChoiceField(choices=ClaimState.choices, read_only=True)
    decided_by = serializers.CharField(source="decided_by_label", read_only=True, help_text="who approved, rejected or withdrew it")
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decision_reason = serializers.CharField(read_only=True)


class ClaimQuerySerializer(QuerySerializer):
    view = serializers.ChoiceField(
        choices=CLAIM_VIEWS, required=False, default="all",
        help_text="all: those you may see; mine: those you made; waiting: those waiting for your decision, oldest first",
    )
    state = serializers.ChoiceField(
        choices=ClaimState.values, required=False, allow_blank=True, default="",
        help_text="ignored with view=waiting, where every claim listed is pending",
    )


class OrphanSerializer(serializers.Serializer):
    """An identity none of whose owners is active: what identifies it, nothing it holds."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    environment = serializers.ChoiceField(choices=Environment.choices)
    status = serializers.ChoiceField(choices=Status.choices)
    former_primary_owner = serializers.CharField(source="primary_owner_name", allow_null=True, help_text="username; no longer active")
    pending_claims = serializers.IntegerField(help_text="claims on it waiting for a reviewer")
    claimed_by_me = serializers.BooleanField(help_text="your own claim on it waits for a reviewer")


class CampaignSerializer(TakesOnlyItsFields, serializers.Serializer):
    """An attestation campaign: what it asks (the writable fields) and how far it got (read-only).

    total and attested count all of the campaign's identities, as the campaigns page does."""

    id = serializers.IntegerField(read_only=True)
    # A blank name reaches the service function, whose refusal says what to write.
    name = serializers.CharField(max_length=120, allow_blank=True, help_text="what owners see, e.g. “Q4 2026 production agents”")
    due = serializers.DateField(help_text="attest by; after today, within a year")
    environment = serializers.ChoiceField(
        choices=Environment.choices, required=False, allow_blank=True, default="", help_text="the scope; blank: any environment"
    )
    kind = serializers.ChoiceField(choices=Kind.choices, required=False, allow_blank=True, default="", help_text="the scope; blank: any kind")
    instructions = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=free_text.MAX_CHARS, help_text="what owners should check before they attest"
    )
    repeat_days = serializers.ChoiceField(
        choices=[30, 90, 180, 365], required=False, allow_null=True, default=None,
        help_text="launch the next round on the same scope this many days after this one; null: once",
    )
    repeated_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="when its next round was launched")
    follows = serializers.IntegerField(source="follows_id", read_only=True, allow_null=True, help_text="the round it repeats")
    open = serializers.BooleanField(source="is_open", read_only=True)
    launched_by = serializers.CharField(source="launched_by.username", read_only=True)
    launched_at = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    closed_by = serializers.CharField(source="closed_by_label", read_only=True)
    announced_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="when manage.py notify_campaigns emailed the owners; null: not yet"
    )
    owners_told = serializers.IntegerField(read_only=True, help_text="how many owners that email reached")
    total = serializers.IntegerField(read_only=True, help_text="identities asked")
    attested = serializers.IntegerField(read_only=True, help_text="identities attested since the launch")


class CampaignProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    attested = serializers.IntegerField()
    waiting = serializers.IntegerField()
    without_owner = serializers.IntegerField(help_text="waiting, and no active owner is left to answer (claim them)")


class CampaignDetailSerializer(CampaignSerializer):
    progress = serializers.SerializerMethodField()

    @extend_schema_field(CampaignProgressSerializer)
    def get_progress(self, campaign):
        return self.context["progress"]


class CampaignItemSerializer(serializers.Serializer):
    """One identity a campaign asks about, and the attestation that answered it (null: none yet)."""

    identity = serializers.UUIDField(source="identity_id")
    identity_name = serializers.CharField(source="identity.name")
    environment = serializers.ChoiceField(source="identity.environment", choices=Environment.choices)
    kind = serializers.ChoiceField(source="identity.kind", choices=Kind.choices)
    primary_owner = serializers.CharField(source="primary_owner_name", allow_null=True, help_text="username")
    has_active_owner = serializers.BooleanField(help_text="false: nobody is left to answer (claim it)")
    attested = serializers.SerializerMethodField()
    attested_at = serializers.DateTimeField(source="attestation.attested_at", allow_null=True, default=None)
    attested_by = serializers.CharField(source="attestation.person.username", allow_null=True, default=None)
    note = serializers.CharField(source="attestation.note", default="", help_text="the attestation's note")
    review = serializers.ChoiceField(
        source="attestation.review", choices=AttestationReview.choices, allow_null=True, default=None,
        help_text="a reviewer's verdict on the attestation (GET /api/v1/attestations/{id}/)",
    )
    reviewed_by = serializers.CharField(source="attestation.reviewed_by_label", default="")

    def get_attested(self, item) -> bool:
        return item.attestation_id is not None


class CampaignItemQuerySerializer(QuerySerializer):
    state = serializers.ChoiceField(
        choices=CAMPAIGN_ITEM_STATES, required=False, default="all",
        help_text="all (default); waiting: not attested yet (missed, once closed); attested",
    )


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file: one identity per line, the first line names the columns.")


class ImportedIdentitySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    registered = ImportedIdentitySerializer(many=True)


class ImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField(help_text="Empty when the problem is the whole line.")
    message = serializers.CharField()


class ImportProblemsSerializer(serializers.Serializer):
    detail = serializers.CharField()
    problems = ImportProblemSerializer(
        many=True, required=False, help_text="Each problem of the CSV; empty or absent when the body itself was refused."
    )
