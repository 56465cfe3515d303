"""A sign-in lockout (django-axes) is written to the audit log, so a security admin sees
password guessing next to everything else. Once per lock: axes signals every refused try, and
a guesser who keeps going must not fill the log. The username is recorded only when it names
a person: a mistyped field can hold a password, and the log keeps what it is given forever."""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from nhiportal.audit.services import audit_record, system_actor


def on_user_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    failures = AccessAttempt.objects.filter(username=username, ip_address=ip_address).values_list("failures_since_start", flat=True).first()
    if failures != settings.AXES_FAILURE_LIMIT:
        return  # a try while already locked
    person = get_user_model().objects.filter(username=username).first() if username else None
    after = {"ip_address": ip_address, "known_username": person is not None}
    with transaction.atomic():
        if person is not None:
            audit_record(actor=system_actor("login"), action="person.locked_out", obj=person, object_repr=person.get_username(), after=after)
        else:
            audit_record(
                actor=system_actor("login"), action="person.locked_out", object_type="auth.user", object_id="unknown",
                object_repr="an unknown username", after=after,
            )


def lockout_lift(*, actor, attempt: AccessAttempt) -> None:
    """A security admin lifts a lockout early (Django admin, Axes' access attempts): the attempt
    row goes, with one event naming whose lock it was. Call inside the deletion's transaction."""
    person = get_user_model().objects.filter(username=attempt.username).first() if attempt.username else None
    after = {"ip_address": attempt.ip_address, "failures": attempt.failures_since_start, "known_username": person is not None}
    if person is not None:
        audit_record(actor=actor, action="person.lockout_lifted", obj=person, object_repr=person.get_username(), after=after)
    else:
        audit_record(
            actor=actor, action="person.lockout_lifted", object_type="auth.user", object_id="unknown",
            object_repr="an unknown username", after=after,
        )
