"""The demo's ownership claims, made through the claim services once the leavers have left.

The leavers' identities are orphaned (no active owner). bob claims one and it waits, so rita
has a claim in her "Waiting for me" and on the sidebar badge; if there is a second orphan,
alice claims it and rita approves, so alice is its primary owner now and the leaver stays on
as a backup. The other orphans stay unclaimed: the orphaned list still has work to show.
"""

from inventory.claims import claim_approve, claim_create
from inventory.models import AIIdentity, OwnerRole
from inventory.selectors import orphaned_q

APPROVAL_NOTE = "Checked with the team lead: the work moved to alice's team with the reorganisation."


def _former_primary(identity: AIIdentity):
    ownership = identity.ownerships.select_related("person").filter(role=OwnerRole.PRIMARY).first()
    return ownership.person if ownership else None


def _name_of(person) -> str:
    return (person.get_full_name() or person.get_username()) if person else "its former owner"


def claim_orphans(people: dict, identities: list) -> None:
    """Call after people_data.deactivate_leavers: only then are the leavers' identities orphaned.
    Only the demo's own identities are claimed, whatever else the database holds."""
    orphans = list(AIIdentity.objects.filter(orphaned_q(), pk__in=[i.pk for i in identities]).order_by("name"))
    if not orphans:
        return
    waiting = orphans[0]
    former = _former_primary(waiting)
    claim_create(
        actor=people["bob"], identity=waiting,
        reason=(
            f"{_name_of(former)} handed {waiting.name} over to my team before leaving; we run the "
            f"{waiting.trust_boundary} work it does and I already review its output every week. "
            "I will attest it and keep its offboarding plan current."
        ),
    )
    # A second orphan, preferably a different leaver's, for the story that ended.
    others = [o for o in orphans[1:] if _former_primary(o) != former] or orphans[1:]
    if not others:
        return
    taken = others[0]
    claim = claim_create(
        actor=people["alice"], identity=taken,
        reason=(
            f"{taken.name} was {_name_of(_former_primary(taken))}'s; my team has used it daily since the "
            "reorganisation and nobody answers for its access or attestations. I take it over."
        ),
    )
    claim_approve(actor=people["rita"], claim=claim, reason=APPROVAL_NOTE)
