import hashlib
import uuid

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

TOKEN_PREFIX = "nhip_"


def hash_api_token(raw: str) -> str:
    # The token carries 256 bits of randomness, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenPurpose(models.TextChoices):
    API = "api", "REST API"
    # Only for the directory's provisioning (SCIM); the REST API refuses it, and it works only
    # while its person is a security admin.
    DIRECTORY_SYNC = "scim", "Directory sync (SCIM)"


EXPOSED = "Exposed: "  # how a token revoked as leaked says why (services.api_token_exposed)


class PersonalAPIToken(models.Model):
    """A person's token for automation. Only its SHA-256 is stored; it is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    purpose = models.CharField(max_length=8, choices=TokenPurpose.choices, default=TokenPurpose.API)
    # The first characters, kept so people can tell their tokens apart in a list.
    hint = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Why, when it says more than "revoked": "Exposed: <where it was found>" for a leaked token.
    revoke_reason = models.CharField(max_length=200, blank=True)
    # When manage.py notify_exposures told its holder it was found leaked.
    holder_told_at = models.DateTimeField(null=True, blank=True)
    # Made in a session that passed a second factor (or single sign-on), or by an operator at the
    # server. A token carries its person's rights as they are at each call, so a role that needs a
    # second factor takes none made without one (NIST SP 800-63B: a derived credential is worth
    # the authentication it was made under).
    made_with_second_factor = models.BooleanField(default=False)
    # The session it was made in, as session_fingerprint() derives it (never the session id, nor
    # the session table's key): ending that session (a security admin, "sign out my other
    # sessions", a password change) revokes the tokens made in it, so a stolen browser's token
    # ends with it. Empty for tokens made before this was kept, and by manage.py.
    made_in_session = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def where_exposed(self) -> str:
        """Where it was found, for a token revoked as leaked; "" for any other."""
        return self.revoke_reason[len(EXPOSED):] if self.revoke_reason.startswith(EXPOSED) else ""

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired and self.user.is_active


def session_key_digest(session_key: str) -> str:
    """How a session id is stored: its SHA-256, cut to the session table's 40 characters (160
    bits). The id is 32 random characters, so a fast hash leaves nothing to brute-force."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_fingerprint(session_key: str) -> str:
    """What a personal API token keeps of the session it was made in: a digest of the session's
    stored digest, under its own label, so the token table holds neither the id that logs in nor
    the key the session table and its cache are read by. Given the id from a cookie, or a key
    read back from the session table (a StoredDigest)."""
    stored = session_key if isinstance(session_key, StoredDigest) else session_key_digest(session_key)
    return hashlib.sha256(f"api-token-session:{stored}".encode()).hexdigest()


class StoredDigest(str):
    """A session key as read back from the table: the digest already. A cookie's id is a plain
    str, so no request can pass a digest off as an id. (So `dumpdata` and `loaddata` hash the
    keys again: sessions do not survive a fixture round trip; people sign in again.)"""


class SessionKeyField(models.CharField):
    """A session id the database only ever sees hashed: saving stores the digest and every lookup
    hashes the id it is given, so a copy of the table or of a query log logs nobody in. A row
    read back keeps its digest as it is (deleting or saving that row must not hash it again)."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else StoredDigest(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or isinstance(value, StoredDigest):
            return value
        return session_key_digest(value)


class PortalSession(AbstractBaseSession):
    """Django's session row, keyed by the digest of the id in the cookie (see people/sessions.py)."""

    session_key = SessionKeyField("session key", max_length=40, primary_key=True)
    # Who is signed in to it, copied from the session data at every save (see
    # people/sessions.py), so all of a person's sessions can be ended at once.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="portal_sessions",
    )
    # The identity provider's session the sign-in came from (the ID token's sid), copied from
    # the session data the same way, so a back-channel logout naming it ends this session only.
    provider_session = models.CharField(max_length=255, blank=True, default="", db_index=True)
    # Where and when it was signed in to, copied the same way, so the person can tell their
    # sessions apart and end the one they do not recognise (people/views.py own_sessions).
    signed_in_at = models.DateTimeField(null=True, blank=True)
    client = models.CharField("browser", max_length=400, blank=True, default="")
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta(AbstractBaseSession.Meta):
        verbose_name = "session"

    @classmethod
    def get_session_store_class(cls):
        from .sessions import SessionStore

        return SessionStore


class SingleSignOnLink(models.Model):
    """Who a person is at the identity provider: its issuer and the subject it names them by.
    Sign-ins find the person by this pair (never by a name or email the provider may let its
    users change), so a link made once holds however the profile changes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_links")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_link_issuer_subject")]
        verbose_name = "single sign-on link"

    def __str__(self):
        return f"{self.user} at {self.issuer}"


class DirectoryEntry(models.Model):
    """What the organisation's directory, provisioning people over SCIM, knows a person by: its
    own id for them (externalId), and whether it deleted them (the person stays, inactive, with
    their history; SCIM then answers 404 for them)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_entry")
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "directory entries"

    def __str__(self):
        return f"{self.user} ({self.external_id or 'no external id'})"


class DirectoryGroup(models.Model):
    """A group the organisation's directory pushes over SCIM (Okta's Push Groups, Entra ID's group
    provisioning). Where NHI_SSO_ROLE_GROUPS maps its displayName to a role, its members hold that
    role (people/directory_roles.py). A group the directory deletes is kept, with no members, for
    the history that names it; its displayName is then free for a new group."""

    # The id SCIM knows the group by: a UUID, so group ids say nothing about how many there are.
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="directory_groups", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # SCIM compares displayName without case (RFC 7643: caseExact false), so "SecOps" and
            # "secops" would be one group to a filter: two live groups may not share it.
            models.UniqueConstraint(
                Lower("display_name"), condition=models.Q(deleted_at__isnull=True), name="directory_group_live_display_name",
            ),
        ]

    def __str__(self):
        return self.display_name


class SecondFactor(models.Model):
    """A person's authenticator app (TOTP, RFC 6238). The shared secret must be read back to
    check codes, so it is kept encrypted under NHI_KEY_ENCRYPTION_KEY, never in the clear."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="second_factor")
    secret_encrypted = models.BinaryField()
    confirmed_at = models.DateTimeField(default=timezone.now)
    # The last 30-second step whose code was accepted: a code works once (RFC 6238 section 5.2).
    last_used_step = models.BigIntegerField(default=0)
    # Wrong codes in a row, whatever the session: past a limit the app takes no code for a while
    # (NIST SP 800-63B 5.2.2), since a password holder may start the code step again at will.
    wrong_codes = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # How many times in a row the app was locked, with no right code since: each lock lasts
    # twice the one before (15 minutes, 30, 60, ...), so guessing never gets past about a hundred
    # codes in hours, a few hundred in a lifetime (NIST SP 800-63B 5.2.2). A right code resets it.
    locks_in_a_row = models.PositiveSmallIntegerField(default=0)

    def __str__(self):
        return f"authenticator app of {self.user}"


class RecoveryCode(models.Model):
    """A single-use code for when the authenticator app is lost. Only its SHA-256 is kept: each
    code carries 80 random bits, so a fast hash leaves nothing to guess."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)
