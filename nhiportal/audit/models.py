from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from . import labels


class AuditEvent(models.Model):
    """One state change: who did what to which object, before and after.

    Append-only. Each row stores the previous row's hash (a chain) and an HMAC of its
    own hash under AUDIT_HMAC_KEY, so editing, deleting or inserting a row is detected
    by `manage.py audit_verify`.
    """

    at = models.DateTimeField(db_index=True)
    # Agents and commands act with no user: audit_actor_idx leaves their events out.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Who acted, as text: a username, "agent:<client_id>" or "system:<command>".
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    # The AI identity the event concerns, if any (a credential, grant or token of it too),
    # so an identity's history is one indexed query. A plain UUID: audit imports no app.
    identity_id = models.UUIDField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    # Not unique-indexed: the chain (prev_hash) and audit_verify guard it, and an index of
    # random 64-character keys costs every state change a page or two.
    hash = models.CharField(max_length=64)
    hmac = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-id"], name="audit_object_idx"),
            models.Index(fields=["actor"], name="audit_actor_idx", condition=models.Q(actor__isnull=False)),
        ]

    def __str__(self):
        return f"{self.action} {self.object_type}:{self.object_id} by {self.actor_label}"

    # For people: "Identity" for inventory.aiidentity, "Identity: owners changed" for
    # identity.owners_set. Pages show the code beside them; exports keep the codes.
    @property
    def object_type_label(self) -> str:
        return labels.object_type_label(self.object_type)

    @property
    def action_label(self) -> str:
        return labels.action_label(self.action)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only")


class AuditChainHead(models.Model):
    """The chain's last hash in a single row.

    Writers lock this row (select_for_update) so concurrent transactions append one
    at a time and each links to the true previous event, on PostgreSQL as on SQLite.
    """

    last_hash = models.CharField(max_length=64)
