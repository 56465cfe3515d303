import uuid
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from inventory.models import AIIdentity, Environment, Sensitivity
from nhiportal.conf import nhi_setting


class Service(models.Model):
    """A destination (resource server) agents get tokens for: its audience URI and scopes."""

    name = models.CharField(max_length=120, unique=True)
    audience = models.CharField(max_length=255, unique=True, help_text="The `aud` its tokens carry, e.g. https://crm.example.com")
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="services")
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    trust_boundary = models.CharField(max_length=120, blank=True)
    sensitivity = models.PositiveSmallIntegerField(choices=Sensitivity.choices, default=Sensitivity.INTERNAL)
    is_active = models.BooleanField(default=True)
    # Its tokens are issued only bound to the agent's key (DPoP, RFC 9449): a copy that leaks
    # into a log is useless. Unbound requests for it are refused.
    requires_dpop = models.BooleanField(default=False)
    # How the service authenticates to the introspection endpoint: private_key_jwt with this
    # public JWK, client_id = its audience. Empty: the service verifies offline only.
    introspection_jwk = models.JSONField(null=True, blank=True)
    # Where it publishes its protected resource metadata (RFC 9728), if anywhere: the sweep
    # compares the scopes it advertises with those registered (tokens/resource_metadata.py).
    metadata_url = models.CharField(max_length=500, blank=True)
    metadata_checked_at = models.DateTimeField(null=True, blank=True)
    # What the last check found: {} in step; else "unregistered" (advertised, not registered),
    # "withdrawn" (registered, no longer advertised), "audience" (a new resource), or "error".
    metadata_drift = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Bumped by every change to the service or its scopes; keys the in-process scope cache.
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ServiceScope(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="scopes")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=255, blank=True)
    # A consequential scope (writes money, sends mail, deletes data) needs a person's approval
    # for autonomous agents under the default policy.
    consequential = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="service_scope_unique")]

    def __str__(self):
        return self.name


class WorkloadPlatform(models.Model):
    """What a trust domain and a federated issuer share: a platform that signs its workloads'
    tokens, whose keys the portal keeps current (tokens/trust_bundles.py) and can stop
    trusting (tokens/distrust.py). Each subclass has `jwks` and `bundle_endpoint` of its own
    words; the credentials that name it are its `credentials`."""

    refresh_hint = models.PositiveIntegerField(null=True, blank=True)  # seconds, as a SPIFFE bundle asks
    bundle_fetched_at = models.DateTimeField(null=True, blank=True)
    bundle_error = models.TextField(blank=True)  # why the last fetch failed; empty once one works
    # Set when a security admin stopped trusting it: its tokens are refused.
    distrusted_at = models.DateTimeField(null=True, blank=True)
    distrusted_by_label = models.CharField(max_length=200, blank=True)
    distrust_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class TrustDomain(WorkloadPlatform):
    """A SPIFFE trust domain and its JWKS bundle, used to verify JWT-SVIDs."""

    name = models.CharField(max_length=255, unique=True, help_text="e.g. prod.example.com (no spiffe:// prefix)")
    jwks = models.JSONField(help_text="The trust domain's JWT bundle: a JWKS with public keys only.")
    # Where the sweep fetches the bundle again; empty: pasted by hand.
    bundle_endpoint = models.URLField(max_length=500, blank=True)
    KEYS_FROM = "The bundle endpoint"  # what a failed fetch names

    class Meta(WorkloadPlatform.Meta):
        pass


class FederatedIssuer(WorkloadPlatform):
    """An OpenID Connect issuer whose workload tokens agents may present instead of a key of
    their own: GitHub Actions, a Kubernetes cluster's service account tokens, a cloud's
    workload identity (workload identity federation, as Entra's federated credentials or
    Vault's JWT auth). A token is accepted for the one identity whose federated credential
    names its issuer and subject (tokens/oauth/client_auth.py).
    """

    name = models.CharField(max_length=120, help_text="e.g. GitHub Actions, or the cluster's name")
    issuer = models.CharField(max_length=500, unique=True, help_text="The tokens' iss, exactly")
    # Blank: the portal's token endpoint or issuer, as for a client assertion.
    audience = models.CharField(max_length=255, blank=True)
    jwks = models.JSONField()
    bundle_endpoint = models.URLField("JWKS URI", max_length=500, blank=True)  # empty: keys pasted by hand
    KEYS_FROM = "The JWKS URI"
    # How long after it was issued (iat) a token is accepted. The platform sets exp, and it can be
    # far off (six hours for GitHub Actions); a pod presents its projected token until it is 80%
    # of its lifetime old.
    max_age = models.PositiveIntegerField(default=300)
    # A pod presents the kubelet's projected token until it is refreshed: such issuers' tokens
    # may be presented again until they expire. Otherwise each is accepted once.
    reusable = models.BooleanField(default=False)

    class Meta(WorkloadPlatform.Meta):
        pass


class CredentialKind(models.TextChoices):
    JWK = "jwk", "Public key (private_key_jwt)"
    SPIFFE = "spiffe", "SPIFFE ID (JWT-SVID)"
    FEDERATED = "federated", "Federated workload token (OIDC)"


class WorkloadCredential(models.Model):
    """How an identity proves itself: a registered public JWK, or a SPIFFE ID."""

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=10, choices=CredentialKind.choices)
    label = models.CharField(max_length=120, blank=True)
    # JWK credentials: the key id agents put in their assertion header, and the public key.
    kid = models.CharField(max_length=128, blank=True, db_index=True)
    public_jwk = models.JSONField(null=True, blank=True)
    thumbprint = models.CharField(max_length=64, blank=True, help_text="RFC 7638 SHA-256 thumbprint of the public key")
    # SPIFFE credentials: the full spiffe:// ID and its trust domain.
    spiffe_id = models.CharField(max_length=255, blank=True, db_index=True)
    trust_domain = models.ForeignKey(TrustDomain, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials")
    # Federated credentials: the issuer, the token's sub, and other claims that must match exactly.
    federated_issuer = models.ForeignKey(
        FederatedIssuer, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials"
    )
    subject = models.CharField(max_length=255, blank=True)
    required_claims = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_by_label = models.CharField(max_length=200, blank=True)
    disable_reason = models.CharField(max_length=200, blank=True)
    # When manage.py notify_credential_rotation told the identity's owners the key is due.
    rotation_told_at = models.DateTimeField(null=True, blank=True)
    # When manage.py notify_trust_ended told them it was disabled because its platform is no longer trusted.
    trust_ended_told_at = models.DateTimeField(null=True, blank=True)
    # The last assertion or platform token refused for it, and why (at most one a minute noted):
    # what an owner reads when the agent gets no token (tokens/oauth/client_auth.py).
    refused_at = models.DateTimeField(null=True, blank=True)
    refusal = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "kid"], condition=models.Q(kind="jwk"), name="credential_unique_kid"
            ),
            # A JWT-SVID names its SPIFFE ID, not a client: it must map to exactly one identity.
            models.UniqueConstraint(
                fields=["spiffe_id"],
                condition=models.Q(kind="spiffe", enabled=True),
                name="credential_unique_live_spiffe_id",
            ),
            # Likewise a federated token names its issuer and subject.
            models.UniqueConstraint(
                fields=["federated_issuer", "subject"],
                condition=models.Q(kind="federated", enabled=True),
                name="credential_unique_live_federated_subject",
            ),
        ]
        # Registration refuses a key another identity holds, and the compliance page looks
        # for shared ones: both ask "who else has this thumbprint?".
        # The compliance page and the rotation notices ask "which live keys are old?" of every key.
        indexes = [
            models.Index(fields=["thumbprint"], condition=models.Q(kind="jwk", enabled=True), name="credential_live_key_idx"),
            models.Index(fields=["created_at"], condition=models.Q(kind="jwk", enabled=True), name="credential_live_key_age_idx"),
            # The credentials list, newest first, pages without sorting every row.
            models.Index(fields=["created_at"], name="credential_created_idx"),
        ]

    def __str__(self):
        return self.label or self.kid or self.spiffe_id or self.subject

    @property
    def rotation_due(self) -> bool:
        """An enabled public key older than NHI_CREDENTIAL_MAX_AGE_DAYS (OWASP NHI7, long-lived
        secrets). A SPIFFE ID is not: its trust domain rotates the keys behind its SVIDs."""
        return (
            self.kind == CredentialKind.JWK and self.enabled
            and self.created_at < timezone.now() - timedelta(days=nhi_setting("CREDENTIAL_MAX_AGE_DAYS"))
        )


class KeyState(models.TextChoices):
    NEXT = "next", "Next"
    ACTIVE = "active", "Active"
    RETIRING = "retiring", "Retiring"
    RETIRED = "retired", "Retired"


class SigningKey(models.Model):
    """The portal's own token-signing key. The private part is encrypted at rest."""

    kid = models.CharField(max_length=64, unique=True)
    alg = models.CharField(max_length=10, default="ES256")
    public_jwk = models.JSONField()
    private_key_encrypted = models.BinaryField()
    state = models.CharField(max_length=10, choices=KeyState.choices, default=KeyState.NEXT, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retiring_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # Reported compromised (tokens/keys.signing_key_compromised): kept on the key, not only in
    # the audit log, so the keys page tells a leaked key from one that retired in turn.
    compromised_at = models.DateTimeField(null=True, blank=True)
    compromised_by_label = models.CharField(max_length=200, blank=True)
    compromise_reason = models.CharField(max_length=200, blank=True)
    compromise_tokens_revoked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two workers creating the first key at once: the loser's insert fails and it reloads.
            models.UniqueConstraint(fields=["state"], condition=models.Q(state="active"), name="signingkey_one_active"),
        ]

    def __str__(self):
        return f"{self.kid} ({self.alg}, {self.state})"


class Grant(models.Model):
    """A time-boxed right for an identity to get some scopes on a service.

    Lives here rather than in inventory because it points at a Service, and
    dependencies run one way: inventory <- tokens.
    """

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="grants")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="grants")
    scopes = models.JSONField(default=list)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    justification = models.TextField(blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=200, blank=True)
    revoke_reason = models.TextField(blank=True)
    # When manage.py notify_grant_endings told the identity's owners it ends soon.
    ending_told_at = models.DateTimeField(null=True, blank=True)
    # What manage.py grant_usage last read off the token ledger (tokens/usage.py): when, the
    # latest token in the window that carried one of its scopes, and the scopes none carried
    # (empty until the grant is older than the window). Stored, so pages need not scan the ledger.
    usage_checked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    unused_scopes = models.JSONField(default=list, blank=True)
    # When manage.py notify_unused_access told the owners; cleared once every scope is used again.
    unused_told_at = models.DateTimeField(null=True, blank=True)
    # When the sweep's report_expired_grants wrote its grant.expired event, once (set to ends_at
    # for the grants that had run out before the step existed).
    expiry_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["identity", "service", "ends_at"], name="grant_lookup_idx"),
            # report_expired_grants' question: the grants not revoked nor reported, by end. A
            # grant leaves it once reported, so it holds the live grants and a sweep's worth more.
            models.Index(
                fields=["ends_at"], name="grant_expiry_unreported_idx",
                condition=models.Q(revoked_at__isnull=True, expiry_reported_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.identity_id} on {self.service_id}: {' '.join(self.scopes)}"

    def is_live(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.starts_at <= at < self.ends_at


class AccessRequestState(models.TextChoices):
    OWNER_REVIEW = "owner_review", "Waiting for an owner"
    SERVICE_REVIEW = "service_review", "Waiting for the service's reviewer"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


PENDING_ACCESS = (AccessRequestState.OWNER_REVIEW, AccessRequestState.SERVICE_REVIEW)


class AccessRequest(models.Model):
    """A person asks that an identity get some of a service's scopes until a date, and says why.

    Two stages decide it (tokens/access_requests.py): an owner of the identity, then the
    service's reviewer; approval at the second makes the Grant. The requester decides neither.
    """

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="access_requests")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="access_requests")
    scopes = models.JSONField(default=list)
    ends_at = models.DateTimeField(help_text="when the grant asked for would end")
    justification = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=20, choices=AccessRequestState.choices)
    # The owner stage: the owner who approved it (the requester, when an owner asked).
    owner_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner_approved_at = models.DateTimeField(null=True, blank=True)
    # The end: who approved it at the service stage, rejected it or cancelled it, and why.
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by_label = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    grant = models.OneToOneField(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_request")
    # The stage (state) whose deciders manage.py notify_access_requests last emailed.
    announced_state = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["identity", "-requested_at"], name="access_request_identity_idx"),
            models.Index(fields=["-requested_at"], condition=models.Q(state__in=["owner_review", "service_review"]), name="access_request_pending_idx"),
        ]

    def __str__(self):
        return f"access request #{self.pk}: {' '.join(self.scopes)} on {self.service_id}"

    @property
    def is_pending(self) -> bool:
        return self.state in PENDING_ACCESS


def approval_requests_since():
    """Requests for approval opened before this have lapsed: a person deciding days later would
    judge a task whose context may no longer hold, so the agent must ask anew."""
    return timezone.now() - timedelta(hours=nhi_setting("APPROVAL_REQUEST_HOURS"))


class Task(models.Model):
    """One unit of agent work. Its tokens live and die with it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by task_identity_idx, which starts with it.
    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    # Not indexed: every token's task writes to it and nothing looks tasks up by service (a
    # service is deactivated, never deleted, so PROTECT's check never runs).
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tasks", db_index=False)
    # Most tasks have no parent and no approver: partial indexes (below) leave them out.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="subtasks", db_index=False
    )
    intent = models.CharField(max_length=500, blank=True)
    scopes = models.JSONField(default=list)
    sensitivity = models.PositiveSmallIntegerField(choices=Sensitivity.choices, null=True, blank=True)
    authorization_details = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    # Human in the loop: a consequential task waits for a reviewer; the approval covers it alone.
    requires_approval = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    approval_expires_at = models.DateTimeField(null=True, blank=True)
    # When it was approved: separation of duties asks whether the approver owned the identity
    # then, not whether they own it now (they may have taken it over since).
    approved_at = models.DateTimeField(null=True, blank=True)
    # A reviewer said no: the task ended then, and the agent is told it was refused, not pending.
    approval_rejected = models.BooleanField(default=False)
    opened_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by_label = models.CharField(max_length=200, blank=True)
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        # Every token opens or joins a task, and each index is pages to fetch and write while
        # issuance holds SQLite's write lock (after another worker's commit, SQLite re-reads
        # every page it touches). So: one index per question actually asked, and none
        # holding the NULLs nobody looks up.
        # The identity's rows in ascending time: pages read them newest first by scanning the
        # index backwards (SQLite and PostgreSQL both do), and each new row lands at the end of
        # its identity's range, where a busy agent's next row goes too. Descending, each row went
        # to the range's start, splitting a page every few tokens: about a page more written to
        # the WAL per index per token (the same holds for the ledger's and decisions' indexes).
        indexes = [
            models.Index(fields=["identity", "opened_at"], name="task_identity_idx"),
            models.Index(fields=["parent"], name="task_parent_idx", condition=models.Q(parent__isnull=False)),
            models.Index(fields=["approved_by"], name="task_approver_idx", condition=models.Q(approved_by__isnull=False)),
            # The approvals page's question; the tasks that never needed a person stay out of it.
            models.Index(fields=["-opened_at"], name="task_approval_idx", condition=models.Q(requires_approval=True)),
            # Every task, newest first (/tasks/ for those who see every identity, and its export):
            # without it each page sorted the whole table, half a second at a million tasks. New
            # rows land on its last page, so issuance writes one page more a token.
            models.Index(fields=["opened_at", "id"], name="task_opened_idx"),
        ]

    def __str__(self):
        return f"Task {self.id} of {self.identity_id}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def approval_state(self) -> str:
        """"" when the task never needed a person; else pending, lapsed (nobody decided in
        time), approved, expired (the window ended), rejected or withdrawn (ended undecided)."""
        if not self.requires_approval:
            return ""
        if self.approval_rejected:
            return "rejected"
        if self.approved_by_id is None and self.approval_expires_at is None:
            if self.ended_at:
                return "withdrawn"
            return "pending" if self.opened_at > approval_requests_since() else "lapsed"
        return "approved" if self.approval_expires_at > timezone.now() else "expired"


class IssuedToken(models.Model):
    """The ledger of issued access tokens: their claims' facts, never the token itself."""

    jti = models.CharField(max_length=64, unique=True)
    # No index of its own: token_identity_idx starts with identity. Every index is one more
    # page each issuance writes while it holds SQLite's write lock.
    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="issued_tokens", db_index=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="tokens")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", db_index=False
    )
    # Not indexed, for the same reason: revoking a grant finds tokens by identity and audience
    # (tokens/revocation.py), and grants are revoked, never deleted.
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="tokens", db_index=False)
    # The workload credential the agent proved itself with: disabling it revokes these tokens.
    # Indexed by token_credential_idx, which starts with it.
    credential = models.ForeignKey(
        WorkloadCredential, null=True, blank=True, on_delete=models.SET_NULL, related_name="tokens", db_index=False
    )
    audience = models.CharField(max_length=255)
    scopes = models.JSONField(default=list)
    signing_kid = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    # The thumbprint of the DPoP key the token is bound to (its cnf.jkt, RFC 9449); "" for a bearer token.
    cnf_jkt = models.CharField(max_length=64, blank=True, default="")
    # Which platform token (GitHub Actions, a cluster's) the agent signed in with, as the key that
    # shuts it out when it leaks (client_auth.leaked_key); "" for other credentials. A leak report
    # then revokes what that one token obtained, not the other jobs under a wildcard subject.
    # Not indexed: the report finds the credential's tokens first.
    platform_token_key = models.CharField(max_length=64, blank=True, default="")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=200, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            models.Index(fields=["identity", "issued_at"], name="token_identity_idx"),
            # A credential's latest token (its last use on the credentials pages) is this index's
            # first entry for it. In place of the foreign key's own index, which serves revocation
            # as well, so issuance writes no more: on PostgreSQL that one made each credential's
            # lookup read and sort every token it ever obtained.
            models.Index(fields=["credential", "-id"], name="token_credential_idx"),
            # Only exchanged tokens have a parent (see Task's indexes).
            models.Index(fields=["parent"], name="token_parent_idx", condition=models.Q(parent__isnull=False)),
            # The status lists read revoked tokens by id (tokens/status_list.py). Partial, so an
            # issuance (never revoked yet) writes nothing to it.
            models.Index(fields=["id"], name="token_revoked_idx", condition=models.Q(revoked_at__isnull=False)),
        ]

    def __str__(self):
        return f"token {self.jti[:8]}… of {self.identity_id}"

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and at < self.expires_at


class UsedAssertion(models.Model):
    """Client-assertion jtis seen while they could still be valid: a replay is refused. The
    identity provider's logout tokens are kept here too (nhiportal/people/single_sign_out.py).

    The unique insert is the check, so it holds across workers and hosts.
    """

    key = models.CharField(max_length=64, unique=True)  # sha256(client_id + jti), or of the logout token's issuer + jti
    # Not indexed: every token would write to that index, and only the daily prune reads by
    # it, scanning rows in insertion order, where the expired ones come first.
    expires_at = models.DateTimeField()


class TokenPace(models.Model):
    """Where an identity stands against its token rate limit (tokens/rate_limit.py): when its
    next token is due, in seconds since the epoch. Written with each token it obtains."""

    identity = models.OneToOneField(AIIdentity, primary_key=True, on_delete=models.CASCADE, related_name="+")
    next_at = models.FloatField()
    # When it was last refused for its limit (written with the refusal's decision row, so at
    # most once a minute per process): what compliance and the identity page show.
    slowed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When its owners were last mailed about it (tokens/rate_limit_notices.py): at most daily.
    told_at = models.DateTimeField(null=True, blank=True)


class Delegation(models.Model):
    """The principal's owners let another identity act for it: exchange a token the principal
    holds (RFC 8693) into a narrower one of its own, with the act claim naming the actor."""

    principal = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="delegations_given")
    delegate = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="delegations_received")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=200, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "delegate"], condition=models.Q(revoked_at__isnull=True), name="delegation_one_live"
            ),
            models.CheckConstraint(condition=~models.Q(principal=models.F("delegate")), name="delegation_not_to_itself"),
        ]

    def __str__(self):
        return f"{self.delegate_id} may act for {self.principal_id}"


class ApprovalNotice(models.Model):
    """The task's reviewers were told by email that it waits (manage.py notify_approvals): once."""

    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="approval_notice")
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"notice of {self.task_id} to {self.recipients}"


class SourceNetwork(models.Model):
    """A network an identity's tokens were issued to (tokens/source_networks.py), and when first."""

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="source_networks", db_index=False)
    network = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField()
    # When its owners were emailed about it (manage.py notify_new_networks); never for a baseline.
    told_at = models.DateTimeField(null=True, blank=True)
    # Set when an owner recognised it before any token came from it (a policy refused the first
    # one, on context.new_network): it is the agent's, so it is neither news nor a risk.
    recognised_by_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-first_seen_at"]
        constraints = [models.UniqueConstraint(fields=["identity", "network"], name="source_network_once")]

    def __str__(self):
        return f"{self.network} for {self.identity_id}"


class ExposureKind(models.TextChoices):
    TOKEN = "token", "Access token"
    CREDENTIAL = "credential", "Workload credential (its private key)"
    PLATFORM = "platform", "Platform token (federated)"


class Exposure(models.Model):
    """A report that a credential leaked: where, when it was seen, when the portal contained it.

    Never the leaked secret itself: a token is named by its jti, a credential by its row.
    """

    identity = models.ForeignKey(AIIdentity, on_delete=models.CASCADE, related_name="exposures")
    kind = models.CharField(max_length=12, choices=ExposureKind.choices)
    token_jti = models.CharField(max_length=64, blank=True)
    credential = models.ForeignKey(WorkloadCredential, null=True, blank=True, on_delete=models.SET_NULL, related_name="exposures")
    where_found = models.CharField(max_length=500)
    seen_at = models.DateTimeField(help_text="when it was first seen exposed")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    contained_at = models.DateTimeField(default=timezone.now)
    was_live = models.BooleanField(help_text="the token or credential still worked when reported")
    tokens_revoked = models.PositiveIntegerField(default=0)
    # Who was told: the identity's owners, emailed by manage.py notify_exposures.
    told_at = models.DateTimeField(null=True, blank=True)
    owners_told = models.JSONField(default=list, blank=True, help_text="usernames of the owners emailed")
    # A security admin's confirmation, which suspends the identity.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirm_reason = models.CharField(max_length=200, blank=True)
    # Or a security admin's dismissal: no suspension is needed (a false alarm, or the leak is
    # already handled). What was revoked at the report stays revoked either way.
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dismiss_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-contained_at"]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.identity_id} exposed in {self.where_found[:40]}"

    @property
    def status(self) -> str:
        return "confirmed" if self.confirmed_at else "dismissed" if self.dismissed_at else "reported"

    @property
    def is_open(self) -> bool:
        return self.confirmed_at is None and self.dismissed_at is None

    @property
    def dwell(self):
        """How long it was out before the portal contained it."""
        return self.contained_at - self.seen_at


class AccessReview(models.Model):
    """A round of access review (certification): the people who answer for services decide, grant
    by grant, whether each identity still needs its access. Launching fixes the grants; a
    reviewer who owns a grant's identity does not decide it."""

    name = models.CharField(max_length=120)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="access_reviews",
                                help_text="empty: every service")
    due = models.DateField()
    instructions = models.TextField(blank=True)
    # At closing, grants nobody decided are revoked: silence does not keep access.
    revoke_unreviewed = models.BooleanField(default=False)
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    launched_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # When the people who decide were told of it, and reminded before the date (notify_access_reviews).
    announced_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-launched_at", "-id"]

    def __str__(self):
        return self.name

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ReviewDecision(models.TextChoices):
    KEEP = "keep", "Keep"
    REVOKE = "revoke", "Revoke"


class AccessReviewItem(models.Model):
    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="items")
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="review_items")
    decision = models.CharField(max_length=8, choices=ReviewDecision.choices, blank=True)
    decided_by_label = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "grant"], name="access_review_item_unique")]
        ordering = ["grant__identity__name", "grant__service__name", "pk"]
