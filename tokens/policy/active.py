"""Which policy applies right now: the active version, or the shipped default.

Asked at every issuance, so the answer is remembered in the process for a few seconds
(settings.NHI["POLICY_CACHE_SECONDS"], default 2) instead of costing a query per token:
one query per process per interval. Activating a version or changing its mode forgets the
answer at once in the process that made the change (and again when it commits); other
workers and hosts follow within the interval. Each decision records the version it used,
so that window is visible in the log. A zero interval asks the database every time.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from .compiled import CompiledPolicy, compiled_cached, compiled_default, compiled_unusable, compiled_version
from .models import PolicyMode, PolicyVersion

logger = logging.getLogger(__name__)
DEFAULT_CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class ActivePolicy:
    version_id: int | None  # None: no version is active, the shipped default applies
    number: int | None
    mode: str
    compiled: CompiledPolicy


_memo: list = [0.0, None]  # [valid until (monotonic), ActivePolicy]


def _cache_seconds() -> float:
    return float(settings.NHI.get("POLICY_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))


def active_policy() -> ActivePolicy:
    now = time.monotonic()
    valid_until, active = _memo
    if active is not None and now < valid_until:
        return active
    row = PolicyVersion.objects.filter(is_active=True).values_list("id", "number", "mode", "created_at").first()
    if row is None:
        # Never fail open: with no active version the shipped default decides, enforced.
        active = ActivePolicy(None, None, PolicyMode.ENFORCE, compiled_default())
    else:
        version_id, number, mode, created_at = row
        compiled = compiled_cached(version_id, created_at)
        if compiled is None:
            try:
                compiled = compiled_version(PolicyVersion.objects.get(pk=version_id))
            except ValueError as exc:
                logger.error("active policy version %s does not compile, denying everything: %s", number, exc)
                compiled, mode = compiled_unusable(), PolicyMode.ENFORCE
        active = ActivePolicy(version_id, number, mode, compiled)
    _memo[:] = [now + _cache_seconds(), active]
    return active


def forget_active_policy() -> None:
    _memo[:] = [0.0, None]
