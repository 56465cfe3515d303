from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class PolicyMode(models.TextChoices):
    ENFORCE = "enforce", "Enforce"
    LOG_ONLY = "log_only", "Log only"


class PolicyVersion(models.Model):
    """One version of the portal's Cedar policy set. Exactly one version is active."""

    number = models.PositiveIntegerField(unique=True)
    text = models.TextField(help_text="Cedar policies")
    # Example requests with expected decisions: the version's own tests.
    examples = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    mode = models.CharField(max_length=10, choices=PolicyMode.choices, default=PolicyMode.ENFORCE)
    note = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="policy_one_active"),
        ]

    def __str__(self):
        return f"Policy v{self.number}"


class Decision(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


class PolicyDecision(models.Model):
    """One evaluation: what was asked, what was decided, by which policies, how fast."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Not indexed: nothing looks decisions up by version, and versions that decided are kept.
    version = models.ForeignKey(
        PolicyVersion, null=True, on_delete=models.SET_NULL, related_name="decisions", db_index=False
    )
    mode = models.CharField(max_length=10, choices=PolicyMode.choices)
    action = models.CharField(max_length=20)  # issue, exchange, approve
    identity_id = models.UUIDField(null=True)  # indexed by decision_identity_idx, which starts with it
    service_id = models.BigIntegerField(null=True)
    # The Cedar request as evaluated (principal, action, resource, context, entities' facts).
    request = models.JSONField(encoder=DjangoJSONEncoder)
    decision = models.CharField(max_length=5, choices=Decision.choices)
    # What Cedar said; `enforced` is what the portal did (log-only mode allows a deny).
    enforced = models.CharField(max_length=5, choices=Decision.choices)
    policy_ids = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    eval_ms = models.FloatField()

    class Meta:
        # The id breaks ties: decisions recorded in the same microsecond would otherwise come in
        # any order, and the log's pages (page, API, CSV) could show one twice and another never.
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["identity_id", "at"], name="decision_identity_idx"),
            # Refusals only (tokens/activity.py counts them per day): an allowed token's decision
            # row never enters it, so issuance pays nothing for it.
            models.Index(fields=["identity_id", "-at"], name="decision_denied_idx", condition=models.Q(enforced="deny")),
        ]

    def __str__(self):
        return f"{self.action} {self.decision} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_portal_refusal(self) -> bool:
        """Refused by the portal's own checks before policy (rule ids like "portal:no-live-grant")."""
        return bool(self.policy_ids) and str(self.policy_ids[0]).startswith("portal:")


class RefusalNotice(models.Model):
    """When an identity's owners were last told the portal refused it tokens (notify_refusals).

    Made by the notice for identities it finds refused, never by issuance, so a refusal costs
    the token path nothing more than its decision row."""

    identity = models.OneToOneField("inventory.AIIdentity", primary_key=True, on_delete=models.CASCADE, related_name="+")
    told_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"refusal notice for {self.identity_id}"
