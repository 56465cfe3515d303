"""Access reviews (certification): a reviewer or security admin launches a round over every
live grant, or one service's; the people who answer for the service (its owner, reviewers,
security admins) keep or revoke each grant; closing records what was missed and, if the round
said so, revokes what nobody vouched for. Nobody decides a grant of an identity they own, nor
one they made themselves: nobody certifies their own decision, so whoever granted it, and for
a grant an access request made, whoever asked for it or approved either stage, leave it to others.

Decisions are final: a revocation ends the grant and its live tokens in the same transaction
(tokens/services.grant_revoke), and a kept grant stays until it ends or the next round.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from inventory.models import Ownership
from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record, system_actor
from nhiportal.people.roles import is_reviewer, is_security_admin, sees_everything

from .models import AccessReview, AccessReviewItem, Grant, ReviewDecision
from .selectors import owns_services
from .services import grant_revoke

LONGEST_DAYS = 365  # as for attestation campaigns: a round is decided within the year


# Refusals the pages, the API and these functions give alike.
LAUNCHERS = "Reviewers and security admins launch access reviews."
CLOSERS = "Reviewers and security admins close access reviews."


def may_launch(user) -> bool:
    return is_reviewer(user) or is_security_admin(user)


def may_see_reviews(user) -> bool:
    """Readers of everything, and owners of a service (who decide its grants)."""
    return sees_everything(user) or owns_services(user)


def reviews_for(user) -> QuerySet:
    """The rounds the person takes part in, each counted over the grants they may see: a
    service's owner learns nothing of the other services' grants, not even how many."""
    everything = sees_everything(user)
    theirs = Q() if everything else Q(items__grant__service__owner=user)
    reviews = AccessReview.objects.select_related("service", "launched_by").annotate(
        total=Count("items", filter=theirs),
        decided=Count("items", filter=theirs & ~Q(items__decision="")),
        revoked=Count("items", filter=theirs & Q(items__decision=ReviewDecision.REVOKE)),
    ).order_by("-launched_at", "-id")
    return reviews if everything else reviews.filter(total__gt=0)


def items_for(user, review) -> QuerySet:
    items = AccessReviewItem.objects.filter(review=review).select_related("grant__identity", "grant__service", "grant__service__owner")
    return items if sees_everything(user) else items.filter(grant__service__owner=user)


OWNS_IT = "You own this identity, so you do not review its access"
# Nobody certifies their own decision.
GRANTED_IT = "You granted this access, so you do not certify it"
APPROVED_IT = "You approved the access request that made this grant, so you do not certify it"
ASKED_FOR_IT = "You asked for this access, so you do not certify it"


def _made_by(user) -> Q:
    """Items whose grant this person decided to give: they granted it (a security admin directly,
    or the service's reviewer by approving), or asked for it or vouched for it as an owner."""
    return (
        Q(grant__granted_by=user)
        | Q(grant__access_request__requested_by=user)
        | Q(grant__access_request__owner_approved_by=user)
        | Q(grant__access_request__decided_by=user)
    )


def not_yours(user, items) -> dict[int, str]:
    """The items among these that the person may never decide, whatever their role, each with
    why: an identity they own, or access they gave themselves. One query for the lot."""
    owned = Ownership.objects.filter(identity_id=OuterRef("grant__identity_id"), person=user)
    rows = (
        AccessReviewItem.objects.filter(pk__in=[item.pk for item in items])
        .annotate(owned=Exists(owned))
        .filter(Q(owned=True) | _made_by(user))
        .values_list("pk", "owned", "grant__granted_by", "grant__access_request__decided_by", "grant__access_request__requested_by")
    )
    why = {}
    for pk, owns, granted_by, decided_by, requested_by in rows:
        if owns:
            why[pk] = OWNS_IT
        elif user.pk in (granted_by, decided_by):
            why[pk] = GRANTED_IT
        elif user.pk == requested_by:
            why[pk] = ASKED_FOR_IT
        else:  # the owner who vouched for someone else's request (and owns the identity no more)
            why[pk] = APPROVED_IT
    return why


def _owns_service(user, item) -> bool:
    return item.grant.service.owner_id == user.pk


def deciding(user, review, items) -> tuple[set[int], dict[int, str]]:
    """Of these items of one review: the ids the person may decide (the service's owner,
    reviewers and security admins), and those they would but may not, with why (not_yours)."""
    if not review.is_open:
        return set(), {}
    broad = is_reviewer(user) or is_security_admin(user)
    candidates = [item for item in items if not item.decision and (broad or _owns_service(user, item))]
    excluded = not_yours(user, candidates) if candidates else {}
    return {item.pk for item in candidates if item.pk not in excluded}, excluded


def decidable(user, review, items) -> set[int]:
    return deciding(user, review, items)[0]


def others_decide(user, item, why: str) -> str:
    """What the page shows and the API answers instead of the decision: why not this person,
    and who decides instead."""
    owner = item.grant.service.owner
    others = "a reviewer or a security admin" if owner.pk == user.pk else f"the service's owner ({owner.get_username()}), a reviewer or a security admin"
    return f"{why}: {others} who took no part in it decides."


def why_not_decider(user, item) -> str:
    """Why this person may not decide this item ("" when they may), asked of one that waits."""
    why = not_yours(user, [item]).get(item.pk)
    if why:
        return others_decide(user, item, why)
    if not (is_reviewer(user) or is_security_admin(user) or _owns_service(user, item)):
        return "The service's owner, reviewers and security admins decide."
    return ""


def may_decide(user, item) -> bool:
    return item.pk in decidable(user, item.review, [item])


def items_waiting_for(user) -> int:
    """Grants in open rounds this person may decide and nobody has: the navigation's count."""
    if not getattr(user, "is_authenticated", False):
        return 0
    items = AccessReviewItem.objects.filter(review__closed_at__isnull=True, decision="")
    if not (is_reviewer(user) or is_security_admin(user)):
        items = items.filter(grant__service__owner=user)
    now = timezone.now()
    items = items.filter(grant__revoked_at__isnull=True, grant__ends_at__gt=now)
    return items.exclude(grant__identity__ownerships__person=user).exclude(_made_by(user)).count()


def progress(review, user=None) -> dict:
    """Decisions so far, over the grants the user may see (items_for); over the whole round
    without a user, for the round's own record (closing)."""
    items = review.items.all() if user is None else items_for(user, review)
    counts = items.aggregate(
        total=Count("pk"),
        kept=Count("pk", filter=Q(decision=ReviewDecision.KEEP)),
        revoked=Count("pk", filter=Q(decision=ReviewDecision.REVOKE)),
    )
    counts["waiting"] = counts["total"] - counts["kept"] - counts["revoked"]
    return counts


@transaction.atomic
def access_review_launch(*, actor, name: str, due, service=None, revoke_unreviewed: bool = False, instructions: str = "") -> AccessReview:
    if not may_launch(actor):
        raise PermissionDenied(LAUNCHERS)
    if not name.strip():
        raise ValidationError({"name": "Name the review, e.g. “Q3 CRM access”."})
    today = timezone.localdate()
    if due < today:
        raise ValidationError({"due": "The due date has passed."})
    if due > today + timedelta(days=LONGEST_DAYS):
        # A round open for years (or until 9999) certifies nothing and never closes.
        raise ValidationError({"due": f"Choose a date within {LONGEST_DAYS} days."})
    now = timezone.now()
    grants = Grant.objects.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
    if service is not None:
        grants = grants.filter(service=service)
    grant_ids = list(grants.values_list("pk", flat=True))
    if not grant_ids:
        raise ValidationError({"service": "No live grant to review there."})
    review = AccessReview.objects.create(
        name=name.strip(), service=service, due=due, revoke_unreviewed=revoke_unreviewed, instructions=instructions.strip(), launched_by=actor,
    )
    AccessReviewItem.objects.bulk_create(AccessReviewItem(review=review, grant_id=pk) for pk in grant_ids)
    audit_record(
        actor=actor, action="access_review.launch", obj=review, object_repr=review.name,
        after={"service": service.name if service else "all", "due": due.isoformat(), "grants": len(grant_ids), "revoke_unreviewed": revoke_unreviewed},
    )
    return review


@transaction.atomic
def access_review_decide(*, actor, item, decision: str, reason: str = "") -> AccessReviewItem:
    """Keep or revoke one grant; a revocation ends it and its tokens now."""
    # The round first, as closing locks it before the items it revokes: a decision and the
    # close then take turns (the close sees the decision, or the decision sees the round
    # closed), where locking the item first let each wait for the other.
    AccessReview.objects.select_for_update().get(pk=item.review_id)
    item = AccessReviewItem.objects.select_for_update(of=("self",)).select_related("review", "grant__service", "grant__identity").get(pk=item.pk)
    if decision not in ReviewDecision.values:
        raise ValidationError({"decision": "Keep or revoke."})
    if not item.review.is_open:
        raise StateConflict("This review is closed.")
    if item.decision:
        raise StateConflict("This grant was decided already.")
    refusal = why_not_decider(actor, item)
    if refusal:
        raise PermissionDenied(refusal)
    if decision == ReviewDecision.REVOKE and not reason.strip():
        raise ValidationError({"reason": "Say why the access goes."})
    grant = item.grant
    if decision == ReviewDecision.REVOKE:
        grant_revoke(actor=actor, grant=grant, reason=f"Access review “{item.review.name}”: {reason.strip()}")
    item.decision, item.decided_by_label, item.decided_at, item.reason = decision, actor_label(actor)[:200], timezone.now(), reason.strip()[:300]
    item.save(update_fields=["decision", "decided_by_label", "decided_at", "reason"])
    audit_record(
        actor=actor, action="access_review.decide", obj=item.review, object_repr=f"{grant.identity.name} on {grant.service.name}",
        identity=grant.identity_id, after={"decision": decision, "grant": grant.pk, "scopes": grant.scopes}, reason=reason.strip(),
    )
    return item


@transaction.atomic
def access_review_keep_several(*, actor, items) -> int:
    """Keep several grants at once (a service owner confirming a list): all or none, one audit
    event per grant, each checked as a single decision is."""
    for item in items:
        access_review_decide(actor=actor, item=item, decision=ReviewDecision.KEEP)
    return len(items)


@transaction.atomic
def access_review_close(*, actor, review) -> dict:
    """End the round: what nobody decided is on record, and revoked if the round said so."""
    if not may_launch(actor):
        raise PermissionDenied(CLOSERS)
    return _close(actor=actor, review=review)


def access_reviews_close_due(*, actor, today=None) -> int:
    """Close every open round whose date to decide by has passed (manage.py close_access_reviews,
    daily), so a round that revokes what nobody kept does so without waiting for a person."""
    today = today or timezone.localdate()
    closed = 0
    for review in AccessReview.objects.filter(closed_at__isnull=True, due__lt=today).order_by("pk"):
        with transaction.atomic():
            if AccessReview.objects.select_for_update().filter(pk=review.pk, closed_at__isnull=True).exists():
                _close(actor=actor, review=review)
                closed += 1
    return closed


def _close(*, actor, review) -> dict:
    review = AccessReview.objects.select_for_update().get(pk=review.pk)
    if not review.is_open:
        raise StateConflict("This review is closed already.")
    waiting = list(review.items.filter(decision="").select_related("grant"))
    revoked = 0
    if review.revoke_unreviewed:
        for item in waiting:
            if item.grant.revoked_at is None and item.grant.ends_at > timezone.now():
                grant_revoke(actor=system_actor("access_review"), grant=item.grant, reason=f"Nobody kept it in the access review “{review.name}”.")
                revoked += 1
            item.decision, item.decided_by_label, item.decided_at = ReviewDecision.REVOKE, "system:access_review", timezone.now()
            item.reason = "not reviewed by the due date" if timezone.localdate() > review.due else "not reviewed before the review was closed"
            item.save(update_fields=["decision", "decided_by_label", "decided_at", "reason"])
    review.closed_at, review.closed_by = timezone.now(), actor if getattr(actor, "pk", None) else None
    review.save(update_fields=["closed_at", "closed_by"])
    result = {**progress(review), "unreviewed": len(waiting), "revoked_unreviewed": revoked}
    audit_record(actor=actor, action="access_review.close", obj=review, object_repr=review.name, after=result)
    return result
