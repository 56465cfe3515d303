"""Writes to policy: one function per use case, one transaction, one audit event each."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting

from .active import forget_active_policy
from .checking import policy_problems
from .compiled import CompiledPolicy, compiled_version
from .examples import default_examples, examples_parse, examples_run
from .models import PolicyDecision, PolicyMode, PolicyVersion
from .replay import REPLAY_DEFAULT, ReplayReport, replay
from .schema import default_policy_text

PRUNE_BATCH = 5000
REASON_NEEDED = "Say why these outcomes may change; the reason is kept with the activation."


class ActivationRefused(ValidationError):
    """Activation cannot happen (yet). `needs_confirmation`: the version would deny every
    recent request, and activating it anyway takes an explicit confirmation."""

    def __init__(self, message: str, *, needs_confirmation: bool = False, report: ReplayReport | None = None):
        self.needs_confirmation = needs_confirmation
        self.report = report
        super().__init__(message)


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _forget_everywhere_here() -> None:
    # At once for this transaction's own reads, and again after commit in case another
    # thread of this process re-read the old answer in between.
    forget_active_policy()
    transaction.on_commit(forget_active_policy)


def _validate_text(text: str) -> None:
    problems = policy_problems(text)
    if problems:
        raise ValidationError({"text": [str(p) for p in problems]})


@transaction.atomic
def policy_version_create(*, actor, text: str, examples, note: str = "", mode: str = PolicyMode.ENFORCE) -> PolicyVersion:
    """Save a new version (inactive). Text that does not parse or validate is never saved."""
    text = text.replace("\r\n", "\n")
    _validate_text(text)
    try:
        examples = examples_parse(examples)
    except ValidationError as exc:
        raise ValidationError({"examples": exc.messages}) from exc
    for attempt in range(3):
        number = (PolicyVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        version = PolicyVersion(
            number=number,
            text=text,
            examples=examples,
            note=note.strip(),
            mode=mode,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        version.full_clean()
        try:
            # Two people saving at once can pick the same number: the second tries the next.
            with transaction.atomic():
                version.save()
            break
        except IntegrityError:
            if attempt == 2:
                raise ValidationError("Another version was saved at the same moment; save again.") from None
    audit_record(
        actor=actor,
        action="policy.version_create",
        obj=version,
        after={
            "number": version.number,
            "mode": version.mode,
            "note": version.note,
            "examples": len(examples),
            "text_sha256": _text_digest(text),
        },
    )
    return version


@dataclass(frozen=True)
class ActivationCheck:
    problems: list[str]  # why it cannot be activated at all
    failing_examples: list[str]
    report: ReplayReport

    @property
    def needs_confirmation(self) -> bool:
        """Replay says some recent request would be decided otherwise (or every one denied):
        activating it on the pages takes a second look at what changes, and a reason."""
        return bool(self.report.changes) or self.report.denies_everything


def activation_check(version: PolicyVersion, *, replay_limit: int = REPLAY_DEFAULT) -> ActivationCheck:
    problems = [str(p) for p in policy_problems(version.text)]
    failing: list[str] = []
    report = ReplayReport()
    if not problems:
        compiled = compiled_version(version)
        if not version.examples:
            problems.append("Add at least one example request with its expected decision before activating.")
        failing = [r.name for r in examples_run(compiled, version.examples) if not r.passed]
        report = replay(compiled, limit=replay_limit)
    return ActivationCheck(problems, failing, report)


@transaction.atomic
def policy_version_activate(
    *, actor, version: PolicyVersion, confirm_deny_all: bool = False, reason: str = "", changes_confirmed: bool | None = None
) -> PolicyVersion:
    """Make `version` the one active version, if its text is valid and all its examples pass.

    A version that would deny every recent request needs confirm_deny_all. `changes_confirmed`
    is the pages' confirmation step: False (the version page's one-click button) refuses, with
    needs_confirmation, a version whose replay changes any recent outcome; True (the confirmation
    page, which showed what changes) needs a reason for it. None: the caller does not ask (the
    API, policy_apply and the seed, which run the same checks of examples and deny-all). The
    reason, and what replay said would change, are kept in the `policy.activate` event.
    """
    reason = reason.strip()
    # Activations take turns: every version's row is locked, in one order, before anything is
    # read, so a second activation waits for the first to commit and then sees what it made
    # active (what this one replaces, for the audit event), and two cannot deadlock.
    rows = list(PolicyVersion.objects.select_for_update().order_by("pk").values_list("pk", "number", "is_active"))
    version = PolicyVersion.objects.get(pk=version.pk)
    if version.is_active:
        raise ActivationRefused(f"Version {version.number} is already active.")
    previous = next((number for _, number, is_active in rows if is_active), None)
    check = activation_check(version)
    if check.problems:
        raise ActivationRefused(" ".join(check.problems))
    if check.failing_examples:
        raise ActivationRefused(
            f"{len(check.failing_examples)} example(s) do not pass: {', '.join(check.failing_examples)}. "
            "A version is activated only when all its examples pass."
        )
    if check.report.denies_everything and not confirm_deny_all:
        raise ActivationRefused(
            f"This version would deny every one of the last {check.report.replayed} recorded requests. "
            "Confirm to activate it anyway.",
            needs_confirmation=True,
            report=check.report,
        )
    if changes_confirmed is False and check.needs_confirmation:
        raise ActivationRefused(
            f"Replaying the last {check.report.replayed} recorded requests, {len(check.report.changes)} would be decided "
            "otherwise. Check what changes and say why before activating it.",
            needs_confirmation=True,
            report=check.report,
        )
    if changes_confirmed and check.needs_confirmation and not reason:
        raise ValidationError({"reason": REASON_NEEDED})
    try:
        with transaction.atomic():
            PolicyVersion.objects.filter(is_active=True).update(is_active=False)
            version.is_active = True
            version.activated_at = timezone.now()
            version.save(update_fields=["is_active", "activated_at"])
    except IntegrityError:
        raise ActivationRefused("Another version was activated at the same moment; reload and try again.") from None
    audit_record(
        actor=actor,
        action="policy.activate",
        obj=version,
        before={"active_version": previous},
        after={
            "active_version": version.number,
            "mode": version.mode,
            "replayed": check.report.replayed,
            "would_deny": check.report.denied,
            "would_change": len(check.report.changes),
            "allowed_to_denied": check.report.allowed_to_denied,
            "denied_to_allowed": check.report.denied_to_allowed,
            "confirmed_deny_all": bool(check.report.denies_everything and confirm_deny_all),
        },
        reason=reason,
    )
    _forget_everywhere_here()
    return version


@transaction.atomic
def policy_version_mode_set(*, actor, version: PolicyVersion, mode: str) -> PolicyVersion:
    """Enforce the version's decisions, or only log what it would deny."""
    if mode not in PolicyMode.values:
        raise ValidationError({"mode": f"Choose one of {', '.join(PolicyMode.values)}."})
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if version.mode == mode:
        return version
    before = version.mode
    version.mode = mode
    version.save(update_fields=["mode"])
    audit_record(actor=actor, action="policy.mode_set", obj=version, before={"mode": before}, after={"mode": mode})
    _forget_everywhere_here()
    return version


def policy_check(*, text: str, examples) -> list[str]:
    """What stops this policy set and its examples from being saved and activated, read-only:
    schema and annotation problems, malformed examples, and examples that do not pass."""
    text = text.replace("\r\n", "\n")
    problems = [str(p) for p in policy_problems(text)]
    try:
        examples = examples_parse(examples)
    except ValidationError as exc:
        return problems + [f"examples: {m}" for m in exc.messages]
    if not examples:
        problems.append("examples: add at least one example request with its expected decision.")
    if problems:
        return problems
    return [
        f"example {r.name!r}: expected {r.expect}"
        + (f" by {', '.join(r.expect_policies)}" if r.expect_policies else "")
        + f", got {r.decision}" + (f" by {', '.join(r.policy_ids)}" if r.policy_ids else "")
        + (f" ({'; '.join(r.errors)})" if r.errors else "")
        for r in examples_run(CompiledPolicy(text), examples)
        if not r.passed
    ]


@dataclass(frozen=True)
class Applied:
    version: PolicyVersion
    created: bool  # False: the latest version already had this text and these examples
    activated: bool  # False: not asked, or it was active already


def policy_apply(*, actor, text: str, examples, note: str = "", mode: str = PolicyMode.ENFORCE, activate: bool = False,
                 confirm_deny_all: bool = False, reason: str = "") -> Applied:
    """Policy as code: make a policy set kept in a repository the portal's latest version.

    The latest version with the same text and examples is reused, so applying the same files
    again changes nothing; otherwise a new version is saved (policy_version_create's checks
    and audit event). With `activate`, it is activated as by the Activate button, all or
    nothing: a refused activation saves no version either; and always with a reason, kept in
    the `policy.activate` event. The activation page asks one when it has shown that replay
    changes outcomes; a pipeline is shown no replay, so it is asked every time."""
    text = text.replace("\r\n", "\n")
    reason = reason.strip()
    if activate and not reason:
        raise ValidationError({"reason": "Say why this version becomes the active one; the reason is kept with the activation."})
    with transaction.atomic():
        try:
            parsed = examples_parse(examples)
        except ValidationError as exc:
            raise ValidationError({"examples": exc.messages}) from exc
        latest = PolicyVersion.objects.order_by("-number").first()
        created = latest is None or latest.text != text or latest.examples != parsed or latest.mode != mode
        version = policy_version_create(actor=actor, text=text, examples=parsed, note=note, mode=mode) if created else latest
        activated = activate and not version.is_active
        if activated:
            policy_version_activate(actor=actor, version=version, confirm_deny_all=confirm_deny_all, reason=reason)
            version.refresh_from_db()
    return Applied(version, created, activated)


def policy_seed(*, actor) -> PolicyVersion | None:
    """On a database with no versions: save the shipped default as version 1 and activate it."""
    with transaction.atomic():
        if PolicyVersion.objects.exists():
            return None
        version = policy_version_create(
            actor=actor, text=default_policy_text(), examples=default_examples(), note="The shipped default policy set."
        )
        return policy_version_activate(actor=actor, version=version)


@transaction.atomic
def decisions_prune(*, actor, older_than_days: int | None = None) -> int:
    """Delete decisions older than the retention period (settings.NHI["DECISION_RETENTION_DAYS"])."""
    days = nhi_setting("DECISION_RETENTION_DAYS") if older_than_days is None else older_than_days
    if days < 1:
        raise ValidationError({"older_than_days": "Keep at least one day of decisions."})
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        batch = list(PolicyDecision.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            break
        deleted += PolicyDecision.objects.filter(pk__in=batch).delete()[0]
    if deleted:
        audit_record(
            actor=actor,
            action="policy.decisions_prune",
            object_type="policy.policydecision",
            object_id="*",
            object_repr="policy decisions",
            after={"deleted": deleted, "older_than": cutoff.isoformat(), "retention_days": days},
        )
    return deleted
