"""Every notice that claims rows before mailing, through Django's real SMTP backend against a
server that refuses one mailbox: the sweep step fails visibly, the rows of the refused mail
are withdrawn for the next run (any row it told of, even one another mail told of too), and
the other recipients' rows stay marked told, so they are not mailed again on every run."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from inventory.attestation_reviews import attestation_reject
from inventory.campaigns import campaign_launch
from inventory.claims import claim_create
from inventory.models import AIIdentity, Attestation, Campaign, Environment, LapseNotice, Ownership, OwnershipClaim
from inventory.services import identity_attest
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.people.models import PersonalAPIToken
from nhiportal.people.roles import OWNER
from nhiportal.people.services import api_token_create, role_assign
from nhiportal.sweep.models import SweepStep
from tests.smtp_server import SMTPServer
from tests.tokens.conftest import get_token, grant, oauth, token_request  # noqa: F401
from tokens.access_requests import access_request_create
from tokens.access_reviews import access_review_launch
from tokens.exposures import exposure_report_token
from tokens.models import AccessRequest, AccessReview, ApprovalNotice, Exposure, Task
from tokens.services import service_create

from .test_mail import smtp  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def sweep(step: str):
    call_command("governance_sweep", "--step", step, stdout=StringIO(), stderr=StringIO())


@dataclass(frozen=True)
class Case:
    step: str
    refused: str  # the one mailbox the server refuses
    arrange: Callable  # (fixture getter) -> None: rows for the refused person and for others
    told: Callable[[], dict]  # row -> whether its claim stands
    expected: dict  # told() after the failed run
    failed: str  # the audit action of the withdrawal
    withdrawn: list  # the withdrawal's audit `after`s: counting only what was withdrawn


def lapsed(get):
    """Two identities suspended for a lapse: alice's and bob's."""
    for owner in (get("alice"), get("bob")):
        identity = get("make_agent")(owner, name=f"{owner.username}s-agent").identity
        days = get("settings").NHI["ATTESTATION_GRACE_DAYS"] + 1
        AIIdentity.objects.filter(pk=identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=days))


def campaigns(get):
    """A campaign over alice's production agent, another over bob's development one."""
    get("make_agent")(get("alice"), name="alices-agent")
    get("make_agent")(get("bob"), name="bobs-agent", environment=Environment.DEVELOPMENT)
    due = timezone.localdate() + timedelta(days=10)
    for name, environment in (("production", Environment.PRODUCTION), ("development", Environment.DEVELOPMENT)):
        campaign_launch(actor=get("rita"), name=name, due=due, environment=environment)


def rita_owns_too(get):
    """rita, a reviewer, is given the owner role as well: only owners are made owners (and claim)."""
    role_assign(user=get("rita"), role=OWNER, actor=system_actor("tests"))


def claims(get):
    """alice's agent orphaned; bob and rita claim it: rita hears of bob's claim, sam of both."""
    rita_owns_too(get)
    identity = get("make_agent")(get("alice"), name="orphan").identity
    alice = get("alice")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    get("sam")
    for claimant in (get("bob"), get("rita")):
        claim_create(actor=claimant, identity=identity, reason="My team runs it now.")


def new_owners(get):
    """alice makes bob a backup of one identity, rita of another."""
    rita_owns_too(get)
    for name, backup in (("bobs-share", get("bob")), ("ritas-share", get("rita"))):
        get("make_identity")(get("alice"), name=name, backups=[backup])


def rejections(get):
    """A rejected attestation of alice's agent, another of bob's."""
    for owner in (get("alice"), get("bob")):
        identity = get("make_agent")(owner, name=f"{owner.username}s-agent").identity
        attestation_reject(actor=get("rita"), attestation=identity_attest(actor=owner, identity=identity), reason="Too broad.")


def attestations_waiting(get):
    """An attestation both rita and sam review, and one only sam does (rita owns that agent)."""
    rita_owns_too(get)
    alice = get("alice")
    get("sam")
    for name, backups in (("anyones-agent", []), ("ritas-agent", [get("rita")])):
        identity = get("make_agent")(alice, name=name, backups=backups).identity
        identity_attest(actor=alice, identity=identity)


def access_requests(get):
    """sam asks access for alice's agent and for bob's: each owner decides their own."""
    for owner in (get("alice"), get("bob")):
        identity = get("make_agent")(owner, name=f"{owner.username}s-agent").identity
        access_request_create(
            actor=get("sam"), identity=identity, service=get("crm"), scopes=["tickets:read"],
            ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies.",
        )


def approvals(get):
    """A task both rita and sam may approve, and one only sam may (rita owns that agent)."""
    rita_owns_too(get)
    for name, backups in (("anyones-agent", []), ("ritas-agent", [get("rita")])):
        agent = get("make_agent")(get("alice"), name=name, backups=backups, autonomy="autonomous")
        get("grant")(agent, get("crm"), ["customers:export"])
        body = token_request(get("oauth"), agent, scope="customers:export").json()
        assert body["error"] == "authorization_pending", body


def access_reviews(get):
    """A review of the CRM (rita decides) and one of bob's wiki (rita and bob decide)."""
    wiki = service_create(
        actor=get("sam"), name="Wiki", audience="https://wiki.example.com", owner=get("bob"), trust_boundary="corp-internal",
        scopes=[{"name": "pages:read", "description": "Read pages"}],
    )
    agent = get("make_agent")(get("alice"), name="alices-agent")
    for service, scope in ((get("crm"), "tickets:read"), (wiki, "pages:read")):
        get("grant")(agent, service, [scope])
        access_review_launch(actor=get("rita"), name=service.name, due=timezone.localdate() + timedelta(days=10), service=service)


def exposures(get):
    """A leaked token of alice's agent, of bob's, and of one both own (bob's mail of it fails)."""
    for owner, name, backups in ((get("alice"), "alices-agent", []), (get("bob"), "bobs-agent", []), (get("alice"), "shared-agent", [get("bob")])):
        token = get("get_token")(get("make_agent")(owner, name=name, backups=backups))["access_token"]
        exposure_report_token(actor=get("charlie"), token=token, where_found="CI log")


def leaked_api_tokens(get):
    """alice's and bob's personal API tokens, found in a log."""
    for holder in (get("alice"), get("bob")):
        _, raw = api_token_create(user=holder, name=f"{holder.username}s-token", days=30)
        exposure_report_token(actor=get("charlie"), token=raw, where_found="build log")


CASES = {
    "lapses": Case(
        "suspend_unattested", "bob@example.com", lapsed,
        lambda: {n.identity.name: n.told_at is not None for n in LapseNotice.objects.select_related("identity")},
        {"alices-agent": True, "bobs-agent": False}, "lapses.notify_failed", [{"identities": 1}],
    ),
    "campaigns": Case(
        "notify_campaigns", "bob@example.com", campaigns,
        lambda: {c.name: c.announced_at is not None for c in Campaign.objects.all()},
        {"production": True, "development": False}, "campaigns.notify_failed", [{"campaigns": 1}],
    ),
    "claims": Case(
        "notify_claims", "rita@example.com", claims,
        lambda: {c.claimant.username: c.announced_at is not None for c in OwnershipClaim.objects.select_related("claimant")},
        {"bob": False, "rita": True}, "claims.notify_failed", [{"claims": 1}],
    ),
    "new owners": Case(
        "notify_new_owners", "bob@example.com", new_owners,
        lambda: {f"{o.identity.name} {o.person.username}": o.notified_at is not None for o in Ownership.objects.select_related("identity", "person")},
        {"bobs-share alice": True, "bobs-share bob": False, "ritas-share alice": True, "ritas-share rita": True},
        "identities.notify_new_owners_failed", [{"ownerships": 1}],
    ),
    "attestation rejections": Case(
        "notify_attestation_reviews", "bob@example.com", rejections,
        lambda: {a.identity.name: a.owners_told_at is not None for a in Attestation.objects.select_related("identity")},
        {"alices-agent": True, "bobs-agent": False}, "attestations.notify_failed", [{"attestations": 1}],
    ),
    "attestations waiting": Case(
        "notify_attestation_waiting", "rita@example.com", attestations_waiting,
        lambda: {a.identity.name: a.announced_at is not None for a in Attestation.objects.select_related("identity")},
        {"anyones-agent": False, "ritas-agent": True}, "attestations.announce_failed", [{"attestations": 1}],
    ),
    "access requests": Case(
        "notify_access_requests", "bob@example.com", access_requests,
        lambda: {r.identity.name: r.announced_state != "" for r in AccessRequest.objects.select_related("identity")},
        {"alices-agent": True, "bobs-agent": False}, "access_requests.notify_failed", [{"requests": 1}],
    ),
    "approvals": Case(
        "notify_approvals", "rita@example.com", approvals,
        lambda: {t.identity.name: ApprovalNotice.objects.filter(task=t).exists() for t in Task.objects.select_related("identity")},
        {"anyones-agent": False, "ritas-agent": True}, "approvals.notify_failed", [{"tasks": 1}],
    ),
    "access reviews": Case(
        "notify_access_reviews", "bob@example.com", access_reviews,
        lambda: {r.name: r.announced_at is not None for r in AccessReview.objects.all()},
        {"CRM": True, "Wiki": False}, "access_reviews.notify_failed", [{"reviews": 1}],
    ),
    "exposures": Case(
        "notify_exposures", "bob@example.com", exposures,
        lambda: {e.identity.name: e.told_at is not None for e in Exposure.objects.select_related("identity")},
        {"alices-agent": True, "bobs-agent": False, "shared-agent": False}, "exposure.notify_failed",
        [{"owners_told": []}, {"owners_told": []}],
    ),
    "leaked API tokens": Case(
        "notify_exposures", "bob@example.com", leaked_api_tokens,
        lambda: {t.name: t.holder_told_at is not None for t in PersonalAPIToken.objects.all()},
        {"alices-token": True, "bobs-token": False}, "api_token.holder_told_failed", [{"tokens": 1}],
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_one_refused_mailbox_leaves_the_other_recipients_told(case, request, smtp):
    case.arrange(request.getfixturevalue)
    server = SMTPServer(refused={case.refused})
    smtp.EMAIL_PORT = server.port
    try:
        with pytest.raises(CommandError, match=case.step):
            sweep(case.step)
        step = SweepStep.objects.get(name=case.step)
        assert step.succeeded is False and case.refused in step.output
        assert server.delivered and [case.refused] not in server.delivered
        assert case.told() == case.expected
        withdrawals = AuditEvent.objects.filter(action=case.failed).order_by("id")
        assert [e.after for e in withdrawals] == case.withdrawn
        assert all(case.refused in e.reason for e in withdrawals)

        server.refused.clear()  # the mailbox is back: the next run tells what was withdrawn
        sweep(case.step)
        assert set(case.told().values()) == {True}
    finally:
        server.stop()
