"""The demo's attestation campaigns, run through the campaign services once the claims are made.

rita launches one open campaign on the production identities, due in ten days, with short
instructions; afterwards their owners attest them, except the last one alice and the last
one bob own (so each still finds something "Asked of you") and the overdue ones (so the
dashboard still has overdue work). The campaign page shows partial progress, and the
leavers' orphans wait with no owner to answer.

Before it, an older campaign on the staging identities ran, was answered the same way and
closed, the rest missed. It is launched due a year away, so it moves no identity's due date, then
its dates, its answers and their identities' attestation dates are moved into the past:
demo only and unaudited on purpose, like inventory_data._backdate (timestamps, not state;
the audit log keeps the true times the events were written).
"""

from datetime import timedelta

from django.utils import timezone

from inventory.campaigns import LONGEST_DAYS, campaign_close, campaign_launch, in_scope
from inventory.models import AIIdentity, Attestation, Campaign, Environment, OwnerRole
from inventory.services import identity_attest

OPEN_NAME = "Production identities: pre-audit attestation"
OPEN_DUE_DAYS = 10
OPEN_INSTRUCTIONS = (
    "The external auditors arrive next month. Confirm each production identity is still needed, "
    "its purpose is current and its grants are no wider than that purpose; offboard what nobody uses."
)
CLOSED_NAME = "Staging identities: spring clean-up"
CLOSED_INSTRUCTIONS = "Staging keeps what a release still needs: offboard leftovers from finished projects."
# The older campaign's life, in days before today.
CLOSED_LAUNCHED, CLOSED_DUE, CLOSED_CLOSED = 75, 60, 58
NOTES = [
    "Still needed; purpose and grants checked against the runbook.",
    "Still in use every day; scopes unchanged since the last review.",
    "Checked with the team: still needed, no grant wider than its purpose.",
]


def run_campaigns(people: dict, identities: list) -> None:
    """Call after claims_data.claim_orphans: the leavers have left, the claims are made.

    Only the demo's own identities are answered, whatever else the database holds; a scope
    without an active or suspended identity (a tiny demo) launches nothing."""
    ours = [i.pk for i in identities]
    if in_scope(environment=Environment.STAGING).filter(pk__in=ours).exists():
        _closed_campaign(people, ours)
    if in_scope(environment=Environment.PRODUCTION).filter(pk__in=ours).exists():
        campaign = campaign_launch(
            actor=people["rita"], name=OPEN_NAME, instructions=OPEN_INSTRUCTIONS,
            due=timezone.localdate() + timedelta(days=OPEN_DUE_DAYS), environment=Environment.PRODUCTION,
            repeat_days=90,  # quarterly: the sweep launches the next round by itself
        )
        _answer_some(campaign, people, ours)


def _answer_some(campaign: Campaign, people: dict, ours: list) -> list:
    """The owners answer: alice or bob for what they own, else the primary owner, else any
    active owner. alice and bob each leave their last identity (by name) waiting, so they still
    find something asked of them; overdue identities and orphans stay waiting too. Returns the
    attestations."""
    today = timezone.localdate()
    personas = [people["alice"], people["bob"]]
    answering = {}  # person -> the identities they attest
    items = campaign.items.filter(identity_id__in=ours).select_related("identity").order_by("identity__name")
    for item in items:
        identity = item.identity
        if identity.attestation_due and identity.attestation_due < today:
            continue
        owners = {o.person: o.role for o in identity.ownerships.filter(person__is_active=True).select_related("person")}
        person = (
            next((p for p in personas if p in owners), None)
            or next((p for p, role in owners.items() if role == OwnerRole.PRIMARY), None)
            or next(iter(owners), None)
        )
        if person is not None:
            answering.setdefault(person, []).append(identity)
    answers = []
    for person, identities in answering.items():
        if person in personas:
            identities = identities[:-1]
        for identity in identities:
            answers.append(identity_attest(actor=person, identity=identity, note=NOTES[len(answers) % len(NOTES)]))
    return answers


def _closed_campaign(people: dict, ours: list) -> None:
    campaign = campaign_launch(
        actor=people["rita"], name=CLOSED_NAME, instructions=CLOSED_INSTRUCTIONS,
        due=timezone.localdate() + timedelta(days=LONGEST_DAYS), environment=Environment.STAGING,
    )
    answers = _answer_some(campaign, people, ours)
    campaign_close(actor=people["rita"], campaign=campaign)
    # Into the past: the campaign, then each answer a few days after the launch.
    now, today = timezone.now(), timezone.localdate()
    launched = now - timedelta(days=CLOSED_LAUNCHED)
    Campaign.objects.filter(pk=campaign.pk).update(
        launched_at=launched, due=today - timedelta(days=CLOSED_DUE), closed_at=now - timedelta(days=CLOSED_CLOSED)
    )
    for n, attestation in enumerate(answers):
        attested_at = launched + timedelta(days=2 + (3 * n) % (CLOSED_LAUNCHED - CLOSED_DUE - 2), hours=n % 24)
        Attestation.objects.filter(pk=attestation.pk).update(attested_at=attested_at)
        identity = attestation.identity
        AIIdentity.objects.filter(pk=identity.pk).update(
            last_attested_at=attested_at,
            attestation_due=attested_at.date() + timedelta(days=identity.attestation_interval_days),
        )
