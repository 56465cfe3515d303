"""The governance sweep's steps: the background commands, in the order one sweep runs them.

Each step is one of the portal's idempotent management commands, run by name so this app
imports none of the apps it drives. A step runs when its interval has passed since it last
succeeded (0: on every sweep); a failed step is due again on the next sweep. Suspensions and
pruning come before notices and the compliance snapshot, so those see the sweep's result;
webhooks go out last.
"""

from dataclasses import dataclass
from datetime import timedelta

from nhiportal.conf import nhi_setting

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EVERY_SWEEP = timedelta(0)


@dataclass(frozen=True)
class Step:
    name: str
    every: timedelta
    does: str

    def command_arguments(self) -> tuple[str, ...]:
        return ()

    @property
    def text(self) -> str:
        """What it does, with the periods it works to as this portal is configured."""
        return self.does.format(**_periods())

    @property
    def every_label(self) -> str:
        return {EVERY_SWEEP: "each sweep", HOUR: "hourly", DAY: "daily"}.get(self.every, f"every {self.every}")


def _periods() -> dict[str, str]:
    """Read when shown: operators change the settings without a restart."""
    days = lambda n: f"{n} day" if n == 1 else f"{n} days"  # noqa: E731
    return {
        "unused": days(nhi_setting("UNUSED_ACCESS_DAYS")),  # at most the retention: a system check says so
        "retention": days(nhi_setting("TOKEN_RETENTION_DAYS")),
        "decisions": days(nhi_setting("DECISION_RETENTION_DAYS")),
        "key_age": days(nhi_setting("CREDENTIAL_MAX_AGE_DAYS")),
        "signing_key_age": days(nhi_setting("SIGNING_KEY_MAX_AGE_DAYS")),
        "attestation_grace": days(nhi_setting("ATTESTATION_GRACE_DAYS")),
        "orphan_grace": days(nhi_setting("ORPHAN_GRACE_DAYS")),
        "ending_notice": days(nhi_setting("GRANT_ENDING_NOTICE_DAYS")),
    }


@dataclass(frozen=True)
class KeyRotationStep(Step):
    def command_arguments(self) -> tuple[str, ...]:
        # Read at run time: tests and operators change the setting without a restart.
        return ("--if-older-than", str(nhi_setting("SIGNING_KEY_MAX_AGE_DAYS")))


STEPS = (
    Step("notify_access_requests", EVERY_SWEEP, "Cancels access requests whose end date passed undecided; tells each stage's deciders once."),
    Step("suspend_orphans", HOUR, "Notes identities left without an active owner; suspends those still orphaned after {orphan_grace}."),
    Step("suspend_unattested", HOUR, "Suspends identities whose attestation is overdue by more than {attestation_grace}, and tells their owners."),
    Step("prune_tokens", HOUR, "Deletes token ledger rows expired more than {retention} ago, and spent assertion ids."),
    Step("grant_usage", HOUR, "Reads each live grant's last use off the token ledger; notes the scopes no token carried in the last {unused}."),
    # Each sweep: an indexed read of the grants not yet reported, so a grant's end reaches the
    # identity's history and the SIEM (webhooks, last) within a sweep of happening.
    Step("report_expired_grants", EVERY_SWEEP, "Records one grant.expired audit event for each grant whose end date passed, once per grant."),
    # Each sweep, not hourly: policies read the stored score (principal.risk_score), so an
    # owner's fix, or a token from a new network, counts within one sweep.
    Step("score_identities", EVERY_SWEEP, "Scores each identity's risk from what is wrong with it now (no owner, a leak, an overdue attestation, unused access...) for the identities list's sort and for token policies, which read the stored score."),
    Step("prune_decisions", DAY, "Deletes policy decisions older than {decisions}."),
    KeyRotationStep("rotate_signing_keys", HOUR, "Rotates the portal's signing key once it is {signing_key_age} old; retires keys whose tokens have expired."),
    Step("check_resource_metadata", DAY, "Fetches each service's resource metadata (RFC 9728); notes scopes it advertises that are not registered, or registered ones it no longer advertises."),
    Step("refresh_trust_bundles", EVERY_SWEEP, "Fetches each SPIFFE trust domain's bundle from its bundle endpoint once its refresh hint has passed, and each federated issuer's keys from its JWKS URI, so rotated keys verify."),
    Step("notify_approvals", EVERY_SWEEP, "Tells reviewers of agent tasks newly waiting for approval."),
    Step("notify_claims", EVERY_SWEEP, "Tells reviewers of ownership claims newly waiting."),
    Step("notify_new_owners", EVERY_SWEEP, "Tells people they were made an owner of an identity by someone else, once."),
    Step("notify_attestation_reviews", EVERY_SWEEP, "Tells owners when a reviewer rejected their identity's attestation, with the reason."),
    Step("notify_access_reviews", EVERY_SWEEP, "Tells the people who decide each new access review; reminds them before its date."),
    Step("notify_exposures", EVERY_SWEEP, "Tells owners of each newly reported leak."),
    Step("notify_trust_ended", EVERY_SWEEP, "Tells owners whose credentials were disabled because a security admin stopped trusting their trust domain or federated issuer."),
    Step("notify_new_networks", EVERY_SWEEP, "Tells owners when an identity got a token from a network it never used before."),
    Step("notify_rate_limited", EVERY_SWEEP, "Tells owners when an identity reached its token rate limit, at most daily per identity."),
    Step("notify_refusals", EVERY_SWEEP, "Tells owners when the portal refused tokens to their identities (policy, a missing grant...), with the rules that said no, at most daily per identity."),
    Step("notify_grant_endings", DAY, "Tells owners of grants ending in the next {ending_notice}."),
    Step("notify_unused_access", DAY, "Tells owners of grants holding scopes no token carried in the last {unused}, once per grant."),
    Step("notify_unused_identities", DAY, "Tells owners of active identities that obtained no token in the last {unused}, once until used again."),
    Step("notify_credential_rotation", DAY, "Tells owners of agents' public keys older than {key_age}, once per key."),
    Step("close_access_reviews", DAY, "Closes access reviews past their date; revokes what nobody kept where the review says so."),
    Step("repeat_campaigns", DAY, "Launches the next round of each repeating attestation campaign whose period has passed."),
    Step("notify_campaigns", DAY, "Announces new attestation campaigns to owners; reminds them before the due date."),
    Step("notify_attestation_waiting", DAY, "Tells reviewers of the attestations newly waiting for their review, in one daily digest."),
    Step("compliance_snapshot", DAY, "Records every compliance control's status for the history."),
    # Last: it sends what the steps before it wrote to the audit log.
    Step("deliver_webhooks", EVERY_SWEEP, "Sends new audit events to the webhook endpoints that subscribed to them; retries failing ones with a back-off."),
)
BY_NAME = {step.name: step for step in STEPS}
