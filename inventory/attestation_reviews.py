"""Reviewing attestations: a second pair of eyes on an owner's word.

An owner attests that an identity is still needed and its scope still right. A reviewer or
security admin who does not own the identity (and did not attest) reviews that statement:
confirms it, or rejects it with a reason. A rejected attestation no longer counts: the
identity is due for attestation today, its last attestation is the one before, and the open
campaigns it answered wait for it again. While that rejection is the latest review, an
owner's new attestation counts only once a reviewer confirms it: it waits for review as any
does, but the due date and the last attestation stay as they are until the confirmation
moves them (else attesting again at once would undo the rejection). If no attestation is
confirmed within the grace period, the sweep suspends the identity as for any lapse
(inventory/lapses.py). The owners read the
reason on the identity page and by mail (`manage.py notify_attestation_reviews`); reviewers
hear of what waits for them once a day (`manage.py notify_attestation_waiting`).

Only an identity's latest attestation waits for review: a new one supersedes it, and so
does offboarding. Every decision writes one audit event.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Min, OuterRef, Q, Subquery
from django.utils import timezone

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.people.selectors import reviewers_and_admins

from . import visibility
from .models import AIIdentity, Attestation, AttestationReview, CampaignItem, Ownership, Status

REVIEWERS = "A reviewer or security admin who neither made the attestation nor owns the identity reviews it."
REVIEWED = (AttestationReview.CONFIRMED, AttestationReview.REJECTED)


def standing_rejection(identity: AIIdentity, *, before: Attestation | None = None) -> Attestation | None:
    """The identity's latest reviewed attestation (of those made before `before`, if given) if
    a reviewer rejected it: while it stands, a new attestation counts only once confirmed."""
    reviewed = Attestation.objects.filter(identity_id=identity.pk, review__in=REVIEWED)
    if before is not None:
        reviewed = reviewed.filter(Q(attested_at__lt=before.attested_at) | Q(attested_at=before.attested_at, pk__lt=before.pk))
    latest = reviewed.order_by("-attested_at", "-pk").first()
    return latest if latest is not None and latest.review == AttestationReview.REJECTED else None


@dataclass(frozen=True)
class Standing:
    """Where an identity's attestation stands: the one waiting for a reviewer, if any, and the
    rejection that stands, if its latest review was one."""

    waiting: Attestation | None = None
    rejection: Attestation | None = None

    @property
    def counts_once_confirmed(self) -> bool:
        """An owner's attestation (the one waiting, or the next) moves nothing until confirmed."""
        return self.rejection is not None

    @property
    def notice(self) -> str:
        if self.rejection is None:
            return ""
        r = self.rejection
        said = f"{r.reviewed_by_label} rejected the attestation of {r.attested_at:%Y-%m-%d}: {r.review_reason}"
        if self.waiting is None:
            return f"{said} Put that right, then attest again: that attestation counts once a reviewer confirms it."
        return (
            f"{said} The attestation {self.waiting.person.get_username()} made on {self.waiting.attested_at:%Y-%m-%d} "
            "waits for a reviewer: since the last one was rejected, the due date and last attestation move only once a reviewer confirms it."
        )


def standings(identity_ids) -> dict:
    """Standing by identity id, for those with an attestation waiting or a rejection standing
    (one query however many identities: the API lists them a page at a time)."""
    latest_reviewed = Attestation.objects.filter(identity=OuterRef("identity"), review__in=REVIEWED).order_by("-attested_at", "-pk").values("pk")[:1]
    rows = (
        Attestation.objects.filter(identity__in=list(identity_ids))
        .filter(Q(review=AttestationReview.PENDING) | Q(review=AttestationReview.REJECTED, pk=Subquery(latest_reviewed)))
        .select_related("person").order_by("attested_at", "pk")
    )
    found = {}
    for attestation in rows:  # oldest first: a later one waiting stands in place of an earlier
        waiting, rejection = found.get(attestation.identity_id, (None, None))
        if attestation.review == AttestationReview.PENDING:
            waiting = attestation
        else:
            rejection = attestation
        found[attestation.identity_id] = (waiting, rejection)
    return {pk: Standing(waiting=w, rejection=r) for pk, (w, r) in found.items()}


def may_review(user, attestation: Attestation) -> bool:
    """Waiting, and the user reviews (reviewer or security admin), did not attest, owns not."""
    return (
        attestation.review == AttestationReview.PENDING
        and getattr(user, "pk", None) != attestation.person_id
        and visibility.can(user, visibility.APPROVE, attestation.identity)
    )


def attestations_supersede(identity: AIIdentity, *, by: str) -> int:
    """End the review of the identity's waiting attestations (a new one stands in their place,
    or the identity was offboarded). Inside the caller's transaction, which writes its event."""
    return Attestation.objects.filter(identity=identity, review=AttestationReview.PENDING).update(
        review=AttestationReview.SUPERSEDED, reviewed_at=timezone.now(), review_reason=by,
    )


def _repr(attestation: Attestation) -> str:
    return f"attestation #{attestation.pk} of {attestation.identity.name} by {attestation.person.get_username()}"[:200]


def _waiting(attestation: Attestation, actor) -> Attestation:
    """The attestation, re-read with its identity locked; refused unless it waits and the
    actor may review it."""
    AIIdentity.objects.select_for_update().filter(pk=attestation.identity_id).first()
    attestation = Attestation.objects.select_related("identity", "person").get(pk=attestation.pk)
    if attestation.review != AttestationReview.PENDING:
        raise StateConflict(f"This attestation is {attestation.get_review_display().lower()}; it no longer waits for a review.")
    if not may_review(actor, attestation):
        raise PermissionDenied(REVIEWERS)
    return attestation


def _decide(attestation: Attestation, *, actor, review: str, reason: str) -> None:
    attestation.review = review
    attestation.reviewed_by = actor
    attestation.reviewed_by_label = actor_label(actor)[:200]
    attestation.reviewed_at = timezone.now()
    attestation.review_reason = reason
    attestation.save(update_fields=["review", "reviewed_by", "reviewed_by_label", "reviewed_at", "review_reason"])


def _count(attestation: Attestation) -> tuple[dict, dict]:
    """An attestation made while a rejection stood is confirmed: it counts now, as it would have
    when made (due its interval after it), though no later than an open campaign that asks for
    an attestation since. Never brings the due date forward. Answers (before, after)."""
    identity = attestation.identity
    before = {"attestation_due": identity.attestation_due, "last_attested_at": identity.last_attested_at}
    # The portal's own date, as inventory/services.py counts due dates and lapses compare them.
    due = timezone.localdate(attestation.attested_at) + timedelta(days=identity.attestation_interval_days)
    asked = CampaignItem.objects.filter(identity=identity, attestation__isnull=True, campaign__closed_at__isnull=True)
    asked_by = asked.aggregate(due=Min("campaign__due"))["due"]
    if asked_by is not None:
        due = min(due, asked_by)
    if identity.attestation_due is None or due > identity.attestation_due:
        identity.attestation_due = due
    if identity.last_attested_at is None or attestation.attested_at > identity.last_attested_at:
        identity.last_attested_at = attestation.attested_at
    after = {"attestation_due": identity.attestation_due, "last_attested_at": identity.last_attested_at}
    if after != before:
        identity.version += 1
        identity.updated_at = attestation.reviewed_at
        identity.save(update_fields=["attestation_due", "last_attested_at", "version", "updated_at"])
    return before, after


@transaction.atomic
def attestation_confirm(*, actor, attestation: Attestation, reason: str = "") -> Attestation:
    """The reviewer agrees: the identity is still needed and its scope still right. If it was
    made while a rejection stood, it counts from now (the due date and last attestation move)."""
    attestation = _waiting(attestation, actor)
    held = standing_rejection(attestation.identity, before=attestation) is not None
    _decide(attestation, actor=actor, review=AttestationReview.CONFIRMED, reason=(reason or "").strip())
    before, after = _count(attestation) if held else ({}, {})
    audit_record(
        actor=actor, action="attestation.confirm", obj=attestation, object_repr=_repr(attestation),
        identity=attestation.identity_id, before={"review": AttestationReview.PENDING, **before},
        after={"review": attestation.review, **after}, reason=attestation.review_reason,
    )
    return attestation


@transaction.atomic
def attestations_confirm(*, actor, attestations, reason: str = "") -> dict:
    """Confirm several at once (a reviewer's queue after a campaign), one audit event each.
    One reviewed or superseded since the list was read is left as it is and counted; one the
    actor may not review refuses them all."""
    confirmed = already = 0
    for attestation in sorted(attestations, key=lambda a: a.pk):
        try:
            attestation_confirm(actor=actor, attestation=attestation, reason=reason)
            confirmed += 1
        except ValidationError:
            already += 1
    return {"confirmed": confirmed, "no longer waiting": already}


@transaction.atomic
def attestation_reject(*, actor, attestation: Attestation, reason: str) -> Attestation:
    """The reviewer disagrees: the attestation no longer counts, and an owner attests again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say what is wrong (no longer needed, scope too wide...): the owners read this."})
    attestation = _waiting(attestation, actor)
    # Made while a rejection stood, it never counted: the last attestation stays as it is.
    held = standing_rejection(attestation.identity, before=attestation) is not None
    _decide(attestation, actor=actor, review=AttestationReview.REJECTED, reason=reason)
    identity = attestation.identity
    before = {"attestation_due": identity.attestation_due, "last_attested_at": identity.last_attested_at}
    today = timezone.localdate()
    if identity.status in (Status.ACTIVE, Status.SUSPENDED) and (identity.attestation_due is None or identity.attestation_due > today):
        identity.attestation_due = today
    if not held:
        standing = identity.attestations.exclude(pk=attestation.pk).exclude(review=AttestationReview.REJECTED).order_by("-attested_at").first()
        identity.last_attested_at = standing.attested_at if standing else None
    identity.version += 1
    identity.updated_at = attestation.reviewed_at
    identity.save(update_fields=["attestation_due", "last_attested_at", "version", "updated_at"])
    # The campaigns still open that this attestation answered ask for it again.
    reopened = CampaignItem.objects.filter(attestation=attestation, campaign__closed_at__isnull=True).update(attestation=None)
    audit_record(
        actor=actor, action="attestation.reject", obj=attestation, object_repr=_repr(attestation),
        identity=identity.pk, before={"review": AttestationReview.PENDING, **before},
        after={
            "review": attestation.review, "attestation_due": identity.attestation_due, "last_attested_at": identity.last_attested_at,
            **({"campaign_items_reopened": reopened} if reopened else {}),
        },
        reason=reason,
    )
    return attestation


def rejections_notify(*, actor) -> dict:
    """Email the active owners of each identity whose attestation was rejected, once per
    rejection. Claimed (owners_told_at) before sending; withdrawn if the mail server refuses."""
    with transaction.atomic():
        rejected = list(
            Attestation.objects.select_for_update(of=("self",))
            .filter(review=AttestationReview.REJECTED, owners_told_at__isnull=True)
            .select_related("identity", "person")
            .order_by("reviewed_at")
        )
        if not rejected:
            return {"attestations": 0, "people": 0}
        owners = Ownership.objects.filter(identity__in=[a.identity_id for a in rejected], person__is_active=True).select_related("person")
        told = {}
        for ownership in owners:
            if ownership.person.email:
                told.setdefault(ownership.identity_id, []).append(ownership.person.email)
        Attestation.objects.filter(pk__in=[a.pk for a in rejected]).update(owners_told_at=timezone.now())
        audit_record(
            actor=actor, action="attestations.notify", object_type="inventory.attestation", object_id="attestations",
            object_repr="attestation rejection notices", after={"attestations": len(rejected), "people": len({e for v in told.values() for e in v})},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")
    told_of = [a for a in rejected if a.identity_id in told]  # one mail each, to all its owners
    messages = [
        EmailMessage(
            subject=f"[NHI Portal] Attest {a.identity.name} again: a reviewer rejected the last attestation",
            body="\n".join([
                f"{a.reviewed_by_label} rejected the attestation {a.person.get_username()} made of {a.identity.name} on {a.attested_at:%Y-%m-%d}:",
                "",
                f"  {a.review_reason}",
                "",
                f"The identity is due for attestation again today. Put right what the reviewer names, then attest: {base_url}/identities/{a.identity_id}/",
                "That attestation counts once a reviewer confirms it: until then the identity stays due.",
                f"Unless one is confirmed within {nhi_setting('ATTESTATION_GRACE_DAYS')} days, the identity is suspended and its tokens revoked.",
            ]),
            to=told[a.identity_id],
        )
        for a in told_of
    ]

    def withdraw(error, attestations):
        Attestation.objects.filter(pk__in=[a.pk for a in attestations]).update(owners_told_at=None)
        audit_record(
            actor=actor, action="attestations.notify_failed", object_type="inventory.attestation", object_id="attestations",
            object_repr="attestation rejection notices", after={"attestations": len(attestations)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=[[a] for a in told_of], claimed=rejected, withdraw=withdraw)
    return {"attestations": len(rejected), "people": len({e for v in told.values() for e in v})}


DIGEST_LISTED = 20  # a campaign can bring hundreds at once: the mail lists some and links the rest


def waiting_notify(*, actor) -> dict:
    """Email each reviewer and security admin a digest of the attestations newly waiting that
    they would review (never their own, never of an identity they own), each attestation
    announced once. Claimed (announced_at) before sending; withdrawn if mail fails."""
    with transaction.atomic():
        waiting = list(
            Attestation.objects.select_for_update(of=("self",))
            .filter(review=AttestationReview.PENDING, announced_at__isnull=True)
            .select_related("identity", "person")
            .order_by("attested_at", "pk")
        )
        if not waiting:
            return {"attestations": 0, "people": 0}
        owners = {}
        for identity_id, person_id in Ownership.objects.filter(identity__in={a.identity_id for a in waiting}).values_list("identity_id", "person_id"):
            owners.setdefault(identity_id, set()).add(person_id)
        # The owners of these wait for a confirmation before their attestation counts.
        held = {pk for pk, standing in standings({a.identity_id for a in waiting}).items() if standing.counts_once_confirmed}
        digests = {}
        for person in reviewers_and_admins():
            theirs = [a for a in waiting if a.person_id != person.pk and person.pk not in owners.get(a.identity_id, ())]
            if theirs:
                digests[person] = theirs
        Attestation.objects.filter(pk__in=[a.pk for a in waiting]).update(announced_at=timezone.now())
        audit_record(
            actor=actor, action="attestations.announce", object_type="inventory.attestation", object_id="attestations",
            object_repr="attestation review notices", after={"attestations": len(waiting), "people": len(digests)},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")

    def body(attestations):
        n = len(attestations)
        lines = [f"{n} attestation{'s' if n != 1 else ''} of identities you do not own wait{'' if n != 1 else 's'} for your review:", ""]
        for a in attestations[:DIGEST_LISTED]:
            after = " after a rejection (it counts once confirmed)" if a.identity_id in held else ""
            lines += [f"- {a.person.get_username()} attested {a.identity.name}{after}: {a.note[:120] or '(no note)'}", f"  {base_url}/attestations/{a.pk}/"]
        if n > DIGEST_LISTED:
            lines += ["", f"and {n - DIGEST_LISTED} more."]
        lines += ["", f"Confirm them, or reject one saying what is wrong: {base_url}/attestations/?view=waiting"]
        return "\n".join(lines)

    messages = [
        EmailMessage(subject=f"[NHI Portal] {len(theirs)} attestation{'s' if len(theirs) != 1 else ''} to review", body=body(theirs), to=[p.email])
        for p, theirs in digests.items()
    ]

    def withdraw(error, attestations):
        Attestation.objects.filter(pk__in=[a.pk for a in attestations]).update(announced_at=None)
        audit_record(
            actor=actor, action="attestations.announce_failed", object_type="inventory.attestation", object_id="attestations",
            object_repr="attestation review notices", after={"attestations": len(attestations)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=list(digests.values()), claimed=waiting, withdraw=withdraw)
    return {"attestations": len(waiting), "people": len(digests)}
