"""The demo's attestation reviews, made through the review services after the campaigns.

rita (a reviewer) confirms most of the attestations waiting, rejects one of alice's with a
reason alice reads on the identity page, and leaves a few waiting, so her "Waiting for me"
and the sidebar badge have work to show.
"""

from inventory.attestation_reviews import attestation_confirm, attestation_reject, may_review
from inventory.models import Attestation, AttestationReview

LEFT_WAITING = 3
REJECTION = (
    "Its purpose says it only reads, yet it holds write scopes it has not used in months. "
    "Ask for read-only access (or remove the unused scopes), then attest again."
)


def review_attestations(people: dict, identities: list) -> None:
    rita, alice = people["rita"], people["alice"]
    waiting = [
        a for a in Attestation.objects.filter(identity__in=identities, review=AttestationReview.PENDING)
        .select_related("identity", "person").order_by("attested_at", "pk")
        if may_review(rita, a)
    ]
    if len(waiting) <= LEFT_WAITING:
        return
    reviewed = waiting[:-LEFT_WAITING]  # the newest stay in rita's queue
    rejected = next((a for a in reviewed if a.person_id == alice.pk), None)
    for attestation in reviewed:
        if attestation is rejected:
            attestation_reject(actor=rita, attestation=attestation, reason=REJECTION)
        else:
            attestation_confirm(actor=rita, attestation=attestation)
