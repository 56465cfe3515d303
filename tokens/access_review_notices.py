"""Telling the people who decide an access review (manage.py notify_access_reviews, each
sweep): a mail when a round is launched, and a reminder REMIND_DAYS before its date to those
who still have grants to decide. Each person hears once per round and kind, about the grants
they may decide (a service's owner: that service's; reviewers and security admins: all but
their own identities')."""

from datetime import timedelta

from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from inventory.models import Ownership
from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.people.selectors import reviewers_and_admins

from .models import AccessReview, AccessReviewItem

REMIND_DAYS = 3


def _waiting_by_person(reviews: list) -> dict:
    """(review id, person) -> how many of its undecided live grants that person may decide."""
    now = timezone.now()
    items = list(
        AccessReviewItem.objects.filter(review__in=reviews, decision="", grant__revoked_at__isnull=True, grant__ends_at__gt=now)
        .select_related("grant__service__owner")
    )
    owners = {}
    for ownership in Ownership.objects.filter(identity__in={i.grant.identity_id for i in items}).values("identity_id", "person_id"):
        owners.setdefault(ownership["identity_id"], set()).add(ownership["person_id"])
    # Nobody certifies access they gave (access_reviews._made_by): they are not asked either.
    makers = {}
    for pk, *people in AccessReviewItem.objects.filter(pk__in=[i.pk for i in items]).values_list(
        "pk", "grant__granted_by", "grant__access_request__requested_by",
        "grant__access_request__owner_approved_by", "grant__access_request__decided_by",
    ):
        makers.setdefault(pk, set()).update(p for p in people if p is not None)
    deciders = {p.pk: p for p in reviewers_and_admins()}
    counts = {}
    for item in items:
        people = dict(deciders)
        service_owner = item.grant.service.owner
        if service_owner.is_active and service_owner.email:
            people.setdefault(service_owner.pk, service_owner)
        excluded = owners.get(item.grant.identity_id, set()) | makers.get(item.pk, set())
        for pk, person in people.items():
            if pk not in excluded:
                counts[(item.review_id, person)] = counts.get((item.review_id, person), 0) + 1
    return counts


def _tell(*, actor, reviews_to_tell, reminder: bool) -> dict:
    """One mail per round and person; rounds are claimed before any mail goes out (two runs
    never both send) and released if the mail server refuses (the next run tries again)."""
    mark = "reminded_at" if reminder else "announced_at"
    action = "access_reviews.remind" if reminder else "access_reviews.notify"
    with transaction.atomic():
        reviews = list(reviews_to_tell.select_for_update())
        if not reviews:
            return {"reviews": 0, "people": 0}
        counts = _waiting_by_person(reviews)
        AccessReview.objects.filter(pk__in=[r.pk for r in reviews]).update(**{mark: timezone.now()})
        audit_record(
            actor=actor, action=action, object_type="tokens.accessreview", object_id="access_reviews",
            object_repr="access review reminders" if reminder else "access review announcements",
            after={"reviews": len(reviews), "messages": len(counts)},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")
    by_id = {r.pk: r for r in reviews}
    messages = []
    for (review_id, person), n in counts.items():
        review = by_id[review_id]
        grants = f"{n} grant{'s' if n != 1 else ''}"
        body = (
            f"{'Reminder: the' if reminder else 'The'} access review “{review.name}” asks you to keep or revoke {grants} "
            f"by {review.due:%Y-%m-%d}: keep what each agent still needs at the scopes it uses, revoke the rest."
            + ("\nWhat nobody decides by then is revoked." if review.revoke_unreviewed else "")
            + f"\n\n{base_url}{reverse('tokens:access-review-detail', args=[review.pk])}\n"
        )
        messages.append(EmailMessage(subject=f"[NHI Portal] {'Reminder: ' if reminder else ''}{grants} to review by {review.due:%Y-%m-%d}", body=body, to=[person.email]))

    def withdraw(error, review_ids):
        AccessReview.objects.filter(pk__in=review_ids).update(**{mark: None})
        audit_record(
            actor=actor, action=f"{action}_failed", object_type="tokens.accessreview", object_id="access_reviews",
            object_repr="access review notices", after={"reviews": len(review_ids)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=[[review_id] for (review_id, _) in counts], claimed=list(by_id), withdraw=withdraw)
    return {"reviews": len(reviews), "people": len({person.pk for (_, person) in counts})}


def access_reviews_notify(*, actor) -> dict:
    open_reviews = AccessReview.objects.filter(closed_at__isnull=True)
    announced = _tell(actor=actor, reviews_to_tell=open_reviews.filter(announced_at__isnull=True), reminder=False)
    reminded = _tell(
        actor=actor, reminder=True,
        reviews_to_tell=open_reviews.filter(
            announced_at__isnull=False, reminded_at__isnull=True, due__lte=timezone.localdate() + timedelta(days=REMIND_DAYS),
        ),
    )
    return {**announced, "reminded": reminded["reviews"], "reminded_people": reminded["people"]}
