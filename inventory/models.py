import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from nhiportal.conf import nhi_setting

from .networks import validate_networks


class Kind(models.TextChoices):
    AGENT = "agent", "Agent"
    ASSISTANT = "assistant", "Embedded assistant"
    PIPELINE = "pipeline", "Pipeline / batch job"
    MCP_SERVER = "mcp_server", "MCP server / tool"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    STAGING = "staging", "Staging"
    DEVELOPMENT = "development", "Development"
    SANDBOX = "sandbox", "Sandbox"


class Autonomy(models.TextChoices):
    HUMAN_IN_THE_LOOP = "human_in_the_loop", "Human in the loop"
    SUPERVISED = "supervised", "Supervised"
    AUTONOMOUS = "autonomous", "Autonomous"


class Sensitivity(models.IntegerChoices):
    """Ordered: a higher number is more sensitive, so ceilings compare as integers."""

    PUBLIC = 1, "Public"
    INTERNAL = 2, "Internal"
    CONFIDENTIAL = 3, "Confidential"
    RESTRICTED = 4, "Restricted"


class Status(models.TextChoices):
    REGISTERED = "registered", "Registered"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    OFFBOARDED = "offboarded", "Offboarded"


MAX_TOKEN_RATE_PER_MINUTE = 1_000_000


# Names are unique without regard to case: "payroll-bot" and "Payroll-Bot" would read as one
# identity, and the audit and decision filters match names in any case.
NAME_TAKEN = "Another identity already has this name (names are compared without regard to case)."


def token_rate_limit(own: int | None) -> int:
    """Tokens a minute an identity may obtain (0: no limit): its own limit, or the portal's."""
    return own or nhi_setting("TOKEN_RATE_PER_MINUTE")


class AIIdentity(models.Model):
    """A credentialed AI system: an agent, assistant, pipeline or MCP server."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    purpose = models.TextField(blank=True)
    environment = models.CharField(max_length=20, choices=Environment.choices)
    trust_boundary = models.CharField(
        max_length=120, blank=True, help_text="The zone it runs in and may reach, e.g. corp-internal, customer-facing."
    )
    autonomy = models.CharField(max_length=20, choices=Autonomy.choices, default=Autonomy.SUPERVISED)
    sensitivity_ceiling = models.PositiveSmallIntegerField(
        choices=Sensitivity.choices, null=True, blank=True, help_text="The most sensitive data it may touch."
    )
    offboarding_plan = models.TextField(blank=True)
    # Where its tokens may be asked for from (inventory/networks.py); empty: anywhere.
    allowed_networks = models.JSONField(default=list, blank=True, validators=[validate_networks])
    # Tokens a minute it may obtain (tokens/rate_limit.py); empty: the portal's default.
    token_rate_per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_TOKEN_RATE_PER_MINUTE)],
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REGISTERED, db_index=True)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Suspended by a security admin (by hand, or confirming an exposure): the owners under
    # investigation must not undo it, so only a security admin reactivates it.
    held_by_security_admin = models.BooleanField(default=False)
    attestation_interval_days = models.PositiveSmallIntegerField(default=90)
    attestation_due = models.DateField(null=True, blank=True, db_index=True)
    last_attested_at = models.DateTimeField(null=True, blank=True)
    # When manage.py suspend_orphans first found no active owner (cleared once one is back).
    orphaned_since = models.DateTimeField(null=True, blank=True)
    # When its owners were last told it goes unused (tokens/unused_identities.py): told again
    # only once it is reactivated or obtains a token and then goes unused anew.
    unused_told_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Bumped by every write; an edit made against an older version is refused.
    version = models.PositiveIntegerField(default=1)
    # Its risk, as the hourly scoring (tokens/posture.py) last found it: the sum of the weights
    # of what is wrong with it, and which factors those were. Derived data: no version bump.
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_factors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AI identity"
        verbose_name_plural = "AI identities"
        indexes = [
            models.Index(fields=["status", "name"], name="identity_status_name_idx"),
            models.Index(fields=["kind", "name"], name="identity_kind_name_idx"),
            models.Index(fields=["environment", "name"], name="identity_env_name_idx"),
            models.Index(fields=["-risk_score", "name"], name="identity_risk_name_idx"),
        ]
        # `name` stays unique as well: its index serves the list's sort by name.
        constraints = [
            models.UniqueConstraint(Lower("name"), name="identity_name_unique_any_case", violation_error_message=NAME_TAKEN),
        ]

    def __str__(self):
        return self.name

    @property
    def client_id(self) -> str:
        """The OAuth client_id agents use: the identity's stable id."""
        return str(self.id)

    @property
    def is_offboarded(self) -> bool:
        return self.status == Status.OFFBOARDED

    @property
    def token_rate_limit(self) -> int:
        return token_rate_limit(self.token_rate_per_minute)

    @property
    def risk_level(self) -> str:
        from .risk import level_of

        return level_of(self.risk_score)


class OwnerRole(models.TextChoices):
    PRIMARY = "primary", "Primary owner"
    BACKUP = "backup", "Backup owner"


class Ownership(models.Model):
    """A person accountable for an identity. One primary, any number of backups."""

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="ownerships")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ownerships")
    role = models.CharField(max_length=10, choices=OwnerRole.choices)
    since = models.DateTimeField(default=timezone.now)
    # When the person was told they answer for it (manage.py notify_new_owners), the claim on
    # that mail. Null: someone else made them owner, or primary, and they have not been told
    # yet; set at once when they made themselves owner (inventory/services.py).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role", "person__username"]
        constraints = [
            models.UniqueConstraint(fields=["identity", "person"], name="ownership_unique_person"),
            models.UniqueConstraint(
                fields=["identity"], condition=models.Q(role="primary"), name="ownership_one_primary"
            ),
        ]
        # Each sweep asks for the ownerships not yet told (notify_new_owners): a handful among
        # every ownership there is, found without reading them all.
        indexes = [models.Index(fields=["notified_at"], condition=models.Q(notified_at__isnull=True), name="ownership_untold")]

    def __str__(self):
        return f"{self.person} ({self.get_role_display()}) of {self.identity_id}"


class AttestationReview(models.TextChoices):
    PENDING = "pending", "Waiting for a reviewer"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded"


class Attestation(models.Model):
    """An owner's dated statement that the identity is still needed and its scope still right.

    A reviewer or security admin who does not own the identity reviews it (a second pair of
    eyes on the owner's word): confirmed, or rejected with a reason, which makes the identity
    due for attestation again (inventory/attestation_reviews.py). A later attestation, or
    offboarding, supersedes one still waiting."""

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="attestations")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    attested_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    review = models.CharField(max_length=12, choices=AttestationReview.choices, default=AttestationReview.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by_label = models.CharField(max_length=200, blank=True)  # kept if the account goes
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    # When manage.py notify_attestation_reviews told the owners of a rejection.
    owners_told_at = models.DateTimeField(null=True, blank=True)
    # When manage.py notify_attestation_waiting told the reviewers it waits for them.
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-attested_at"]
        indexes = [
            models.Index(fields=["identity", "-attested_at"], name="attestation_identity_idx"),
            models.Index(fields=["attested_at"], condition=models.Q(review="pending"), name="attestation_waiting_idx"),
        ]

    def __str__(self):
        return f"Attestation of {self.identity_id} by {self.person} at {self.attested_at:%Y-%m-%d}"

    @property
    def review_badge(self) -> str:
        """The status badge's colour: a confirmation is good news here (a confirmed leak is not)."""
        return {AttestationReview.CONFIRMED: "approved", AttestationReview.SUPERSEDED: "cancelled"}.get(self.review, self.review)


class LapseNotice(models.Model):
    """A suspension for a lapsed attestation, and whether its owners were told (inventory/lapses.py).

    Written with the suspension, so a mail server that is down delays the notice, never loses it.
    """

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="lapse_notices")
    attestation_due = models.DateField()
    suspended_at = models.DateTimeField()
    told_at = models.DateTimeField(null=True, blank=True)
    owners_told = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-suspended_at"]
        indexes = [models.Index(fields=["suspended_at"], condition=models.Q(told_at__isnull=True), name="lapse_notice_untold_idx")]

    def __str__(self):
        return f"Lapse notice for {self.identity_id} ({self.suspended_at:%Y-%m-%d})"


class Campaign(models.Model):
    """Reviewers ask the owners of many identities at once to attest them by one date.

    The identities are fixed when it launches (its items); an owner's attestation after the
    launch answers every open campaign item of that identity (inventory/campaigns.py).
    """

    name = models.CharField(max_length=120)
    instructions = models.TextField(blank=True, help_text="what owners should check before they attest")
    due = models.DateField()
    # The scope it launched with ("" = any), kept to say what was asked.
    environment = models.CharField(max_length=20, choices=Environment.choices, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    launched_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_label = models.CharField(max_length=200, blank=True)
    # When manage.py notify_campaigns emailed the owners, and how many people it told.
    announced_at = models.DateTimeField(null=True, blank=True)
    owners_told = models.PositiveIntegerField(default=0)
    # When it reminded the owners still asked, a few days before the due date.
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Launched again this many days after its own launch, on the same scope (null: once); the
    # next one is made by manage.py repeat_campaigns, which notes when (repeated_at).
    repeat_days = models.PositiveSmallIntegerField(null=True, blank=True)
    repeated_at = models.DateTimeField(null=True, blank=True)
    follows = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-launched_at", "-id"]

    def __str__(self):
        return self.name

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CampaignItem(models.Model):
    """One identity a campaign asks about, and the attestation that answered it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="campaign_items")
    attestation = models.ForeignKey(Attestation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["identity__name"]
        constraints = [models.UniqueConstraint(fields=["campaign", "identity"], name="campaign_item_unique")]
        indexes = [models.Index(fields=["identity"], condition=models.Q(attestation__isnull=True), name="campaign_item_waiting_idx")]

    def __str__(self):
        return f"{self.campaign_id}: {self.identity_id}"


class ClaimState(models.TextChoices):
    PENDING = "pending", "Waiting for a reviewer"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class OwnershipClaim(models.Model):
    """A person claims an identity none of whose owners is active; a reviewer decides.

    Approval makes the claimant its primary owner (inventory/claims.py); the former owners stay
    on as backups, for the record.
    """

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="claims")
    claimant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(help_text="why this person is accountable for it now")
    claimed_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=12, choices=ClaimState.choices, default=ClaimState.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by_label = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    # When manage.py notify_claims emailed the reviewers and security admins.
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "claimant"], condition=models.Q(state="pending"), name="claim_one_pending_per_person"
            ),
        ]

    def __str__(self):
        return f"claim #{self.pk} of {self.identity_id} by {self.claimant_id}"


# django-guardian with direct foreign keys: faster than its generic tables at scale.
class IdentityUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(AIIdentity, on_delete=models.CASCADE)


class IdentityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(AIIdentity, on_delete=models.CASCADE)
