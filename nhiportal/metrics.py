"""GET /metrics: the portal's state for Prometheus, read when scraped (prometheus_client).

Nothing is counted on the request path: the token endpoint pays nothing for metrics. Each
scrape reads a few indexed figures instead. Counters are the largest row id of an append-only
table, which only ever grows, even as the ledger is pruned: tokens issued, policy decisions,
audit events. Gauges are counts: identities by status, unexpired tokens, the sweep's steps.

The endpoint is off until NHI_METRICS_TOKEN is set. Scrapers send it as a bearer token
(Prometheus: `authorization: {credentials: ...}`), since the figures describe the estate.
"""

import hashlib
import hmac

from django.db.models import Count, Max
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from inventory.models import AIIdentity, Status
from nhiportal.audit.models import AuditEvent
from nhiportal.conf import nhi_setting
from nhiportal.sweep.models import SweepStep
from nhiportal.sweep.steps import STEPS
from tokens.models import IssuedToken, KeyState, SigningKey
from tokens.policy.models import PolicyDecision


def _largest_id(model) -> int:
    return model.objects.aggregate(n=Max("pk"))["n"] or 0


class PortalCollector:
    """Yields every metric, read from the database at scrape time."""

    def collect(self):
        now = timezone.now()
        identities = GaugeMetricFamily("nhi_identities", "Identities by lifecycle status.", labels=["status"])
        counts = dict(AIIdentity.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        for status in Status.values:
            identities.add_metric([status], counts.get(status, 0))
        yield identities

        yield CounterMetricFamily("nhi_tokens_issued", "Access tokens issued (the ledger's largest row id).", value=_largest_id(IssuedToken))
        yield GaugeMetricFamily(
            "nhi_tokens_unexpired", "Tokens not yet expired, revoked ones included.", value=IssuedToken.objects.filter(expires_at__gt=now).count(),
        )
        yield CounterMetricFamily("nhi_policy_decisions", "Policy decisions and portal refusals recorded.", value=_largest_id(PolicyDecision))
        yield CounterMetricFamily("nhi_audit_events", "Audit events written.", value=_largest_id(AuditEvent))

        active_key = SigningKey.objects.filter(state=KeyState.ACTIVE).order_by("-activated_at").values_list("activated_at", flat=True).first()
        yield GaugeMetricFamily(
            "nhi_signing_key_age_seconds", "How long the active signing key has signed (0 without one).",
            value=(now - active_key).total_seconds() if active_key else 0,
        )

        failed = GaugeMetricFamily("nhi_sweep_step_failed", "1 when the step's last run failed.", labels=["step"])
        since = GaugeMetricFamily(
            "nhi_sweep_step_seconds_since_success", "Seconds since the step last succeeded (-1: never).", labels=["step"],
        )
        records = {r.name: r for r in SweepStep.objects.all()}
        for step in STEPS:
            record = records.get(step.name)
            failed.add_metric([step.name], 1 if record is not None and record.succeeded is False else 0)
            last = record.last_success_at if record is not None else None
            since.add_metric([step.name], (now - last).total_seconds() if last else -1)
        yield failed
        yield since


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(PortalCollector())


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


@require_GET
def metrics(request):
    expected = nhi_setting("METRICS_TOKEN")
    if not expected:
        raise Http404  # off: nothing says the endpoint exists
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(given.strip()), _digest(expected)):
        response = HttpResponse("Send the metrics token as a bearer token.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
