"""Sending audit events to webhook endpoints (`manage.py deliver_webhooks`, a step of every
governance sweep).

The audit log is the outbox: each endpoint keeps a cursor (the last event id it was sent or
skipped), so nothing is lost when the portal or the receiver is down, and events arrive in
the order they happened. A sender leases an endpoint before sending, so several sweeps can
run at once without sending an event twice. A receiver that does not answer 2xx within the
timeout stops the endpoint's queue (order is kept) and is retried with a growing back-off,
up to an hour between tries.

Each request is signed per Standard Webhooks (webhook-id, webhook-timestamp and
webhook-signature headers; HMAC-SHA256 by the standardwebhooks library). The webhook-id is
the event's id, the same on every retry, so a receiver can drop duplicates.
"""

import functools
import json
import logging
import re
import socket
import sys
import time
from datetime import timedelta
from urllib.parse import quote, unquote

import requests
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from nhiportal import outbound
from nhiportal.audit.export import event_record
from nhiportal.audit.labels import action_label
from nhiportal.audit.models import AuditEvent
from nhiportal.conf import nhi_setting
from nhiportal.deadlines import Deadline
from nhiportal.encryption import decrypt
from nhiportal.identity_filter import identity_names

from .events import wanted
from .models import MASK, PayloadFormat, WebhookDelivery, WebhookEndpoint, masked_url, masked_userinfo, password_of, shown_url

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)
BATCH = 100  # events read per endpoint per run
KEEP_DELIVERIES = timedelta(days=30)
USER_AGENT = "NHI-Portal-Webhooks/1"


def payload(event: AuditEvent, fmt: str = PayloadFormat.STANDARD, identity_name: str = "") -> dict:
    """identity_name: the name of the identity the event concerns, which a chat line shows."""
    if fmt == PayloadFormat.CHAT:
        return {"text": chat_line(event.actor_label, event.action, event.object_repr, event.reason, event.identity_id, identity_name)}
    return {"type": event.action, "timestamp": event.at, "data": event_record(event)}


def body_of(endpoint, event: AuditEvent) -> dict:
    """What the portal sends `endpoint` for `event`, in the endpoint's format as it is now."""
    names = identity_names([event.identity_id]) if endpoint.format == PayloadFormat.CHAT else {}
    return payload(event, endpoint.format, names.get(event.identity_id, ""))


# Line breaks and other control characters in a person's text: one space each, so the message
# stays one line (no forged second "NHI Portal: ..." line, no Markdown heading, quote or link
# reference definition, which all need a line of their own).
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Markdown (Mattermost, Teams, Google Chat's Markdown syntax) links "[text](url)" and images
# "![x](url)": a zero-width space after "]" keeps the text as it reads but breaks the link, even
# where a renderer allows a space before "(" (" (" follows the object's name in the line).
_LINK_CLOSE = re.compile(r"\]")
# Mattermost turns "@channel", "@all", "@here" and "@name" into mentions in a webhook's text
# whatever the sender asks; a zero-width space after "@" keeps them text.
_MENTION = re.compile(r"@(?=\w)")
# How urllib3 names the path (and query) it was asking for when a connection failed.
_QUOTED_PATH = re.compile(r"(with url: )\S+")
# A user name and password in any URL a failure quotes ("Failed to parse: http://svc:pw@host").
_QUOTED_USERINFO = re.compile(r"//([^\s/?#@'\"]+)@")
_ZWSP = "\u200b"


def chat_text(value) -> str:
    """A person's words (a name, a reason, a note) made plain text in any chat's markup.

    Slack reads "<...>" as control sequences (<!channel> pings everyone, <https://x|label> is a
    link that shows only its label) and asks senders to escape &, < and > as &amp; &lt; &gt;;
    Google Chat reads the same "<url|label>" and "<users/all>", Mattermost converts Slack's
    forms on receipt, and Markdown receivers decode the entities back to the characters. Only
    the portal's own parts of a line stay markup."""
    text = _BREAKS.sub(" ", str(value)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _LINK_CLOSE.sub("]" + _ZWSP, text)
    return _MENTION.sub("@" + _ZWSP, text)


def chat_line(actor: str, action: str, what: str, reason: str = "", identity_id=None, identity_name: str = "") -> str:
    """One line a person reads in a chat channel: who did what (the action's label, as the audit
    page reads it) to which identity and object, why, and a link:
    "NHI Portal: rita · Leak report: filed · billing-bot: Access token exposed (…) https://…".
    Every part but the link may come from a person (names, reasons, the actor's label), so each
    is escaped (chat_text); the reason is cut before escaping, so no entity is cut in half."""
    # Many events' object is the identity itself: its name once, not "billing-bot: billing-bot".
    subject = ": ".join(part for part in (identity_name if identity_name != what else "", what) if part)
    line = " · ".join(part for part in (chat_text(actor), chat_text(action_label(action)), chat_text(subject)) if part)
    line = f"NHI Portal: {line}".rstrip()
    if reason and (reason := chat_text(reason[:200])):
        line += f" ({reason})"
    if identity_id:
        line += f" {nhi_setting('ISSUER').rstrip('/')}{reverse('inventory:identity-detail', args=[identity_id])}"
    return line


def signed_request(endpoint, msg_id: str, body: dict) -> tuple[bytes, dict]:
    data = json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))
    now = timezone.now()
    signature = Webhook(decrypt(endpoint.secret_encrypted).decode()).sign(msg_id=msg_id, timestamp=now, data=data)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return data.encode(), headers


class _Checked:
    """A urllib3 connection that connects only to addresses the portal may call, judged as the
    host's name resolves (nhiportal/outbound.py). urllib3 has no hook for its connect, so this is
    its _new_conn with outbound.connect in place of its own create_connection: errors as urllib3
    raises them, a refusal a NewConnectionError like a refused connection's."""

    def _new_conn(self):
        try:
            sock = outbound.connect(
                (self._dns_host, self.port), self.timeout, self.source_address, socket_options=self.socket_options,
            )
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e
        except TimeoutError as e:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from e
        except OSError as e:
            raise NewConnectionError(self, f"Failed to establish a new connection: {e}") from e
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class _DeadlineHTTPConnection(_Checked, Deadline, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_Checked, Deadline, HTTPSConnection):
    pass


class _DeadlineAdapter(HTTPAdapter):
    """requests' own adapter (its CA bundle, proxies and errors), opening its connections as
    the ones above. One per message: its pools, and so their connections, are that message's."""

    def __init__(self, **deadline):
        super().__init__()
        self._deadline = deadline

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        pool = super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        connection = _DeadlineHTTPSConnection if isinstance(pool, HTTPSConnectionPool) else _DeadlineHTTPConnection
        pool.ConnectionCls = functools.partial(connection, **self._deadline)
        return pool


def _without_address(message: str, url: str) -> str:
    """A failure in requests' words, less the receiver's path and query, which it quotes ("Max
    retries exceeded with url: /services/..."), and less the URL's password, however it is
    quoted: a chat's incoming-webhook URL is that channel's credential and a password is the
    receiver's, both kept encrypted and shown as shown_url shows them, and the failure is kept
    and shown."""
    for held in sorted({url, requote_uri(url)}, key=len, reverse=True):
        message = message.replace(held, shown_url(url))
    message = _QUOTED_USERINFO.sub(lambda quoted: f"//{masked_userinfo(quoted[1])}@", message)
    if len(password := password_of(url)) >= 4:  # shorter, it would mask half the words
        for held in sorted({password, unquote(password), quote(unquote(password), safe="")}, key=len, reverse=True):
            message = message.replace(held, MASK)
    return _QUOTED_PATH.sub(r"\1…", message)


def post(endpoint, msg_id: str, body: dict) -> tuple[int | None, str, int]:
    """Send one message; (status code or None, error, milliseconds). Redirects are not followed:
    a receiver's address is the one a security admin entered, and it is never one the portal
    refuses to call (nhiportal/outbound.py). The whole exchange ends within TIMEOUT_SECONDS, so
    a batch of them stays inside the sender's lease."""
    data, headers = signed_request(endpoint, msg_id, body)
    started = time.monotonic()
    deadline, watchdogs = started + TIMEOUT_SECONDS, []
    try:
        with requests.Session() as session:
            adapter = _DeadlineAdapter(deadline=deadline, watchdogs=watchdogs)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            # stream: the status is all a delivery needs, and the answer's body is never read, so a
            # receiver that answers 200 and then sends its body a byte at a time holds nothing.
            with session.post(
                endpoint.url, data=data, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True,
            ) as response:
                status, error = response.status_code, "" if 200 <= response.status_code < 300 else f"answered {response.status_code}"
    except requests.RequestException as exc:
        status, error = None, _without_address(f"{type(exc).__name__}: {exc}", endpoint.url)[:300]
        if refused := outbound.refusal_behind(exc):  # its own words, not buried (or cut off) in urllib3's
            error = str(refused)[:300]
        if time.monotonic() >= deadline:  # cut off by the watchdog, or the last read's own timeout
            error = f"the receiver took too long to answer (over {TIMEOUT_SECONDS} s)"
    finally:
        for watchdog in watchdogs:
            watchdog.cancel()
    return status, error, int((time.monotonic() - started) * 1000)


def _free(now) -> Q:
    """Endpoints no sender holds."""
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def _claim(endpoint_id: int, now):
    """The lease's end if this sender now holds the endpoint, else None. The lease's end is the
    claim's mark: only its holder renews it, saves progress under it, or lets it go."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    lease = now + LEASE
    claimed = WebhookEndpoint.objects.filter(_free(now) & due, pk=endpoint_id, enabled=True).update(leased_until=lease)
    return lease if claimed == 1 else None


def due_now(endpoint_id: int, now) -> None:
    """Cut a failing endpoint's back-off short, so the next sweep tries its waiting event at once
    (a redelivery). Not while a sender holds the endpoint: it is trying that event already, and
    the progress it saves would undo the change."""
    WebhookEndpoint.objects.filter(_free(now), pk=endpoint_id, next_attempt_at__gt=now).update(next_attempt_at=now)


def _backoff(failures: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** min(failures - 1, 10)), MAX_BACKOFF)


class _LeaseLost(Exception):
    """The endpoint was taken over (this sender outlived its lease): stop, write nothing more."""


class _Lease:
    def __init__(self, endpoint_id: int, until):
        self.endpoint_id, self.until = endpoint_id, until

    def renew(self, **progress) -> None:
        """Push the lease on, with the progress made, if it is still this sender's: a batch of
        slow receivers' answers may take longer than one lease, and a sender that lost it must
        not move the cursor of the one that took over."""
        until = timezone.now() + LEASE
        if not WebhookEndpoint.objects.filter(pk=self.endpoint_id, leased_until=self.until).update(leased_until=until, **progress):
            raise _LeaseLost
        self.until = until

    def release(self) -> None:
        WebhookEndpoint.objects.filter(pk=self.endpoint_id, leased_until=self.until).update(leased_until=None)


def _progress(endpoint) -> dict:
    return {
        "cursor": endpoint.cursor, "failures": endpoint.failures, "failing_since": endpoint.failing_since,
        "next_attempt_at": endpoint.next_attempt_at, "last_success_at": endpoint.last_success_at,
    }


def _failed(endpoint, now) -> None:
    endpoint.failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.next_attempt_at = now + _backoff(endpoint.failures)


def deliver_endpoint(endpoint: WebhookEndpoint, lease: _Lease) -> tuple[int, bool]:
    """Send this endpoint what it has not had, in order; (events sent, whether it failed).
    Progress is saved after each event, so a crash resends at most the event in flight."""
    sent = 0
    events = list(AuditEvent.objects.filter(id__gt=endpoint.cursor).order_by("id")[:BATCH])
    # A chat line names the identity: one query a batch. A deleted identity's events keep its id only.
    names = identity_names(e.identity_id for e in events) if endpoint.format == PayloadFormat.CHAT else {}
    for event in events:
        if not wanted(event.action, endpoint.categories):
            endpoint.cursor = event.id
            continue
        lease.renew(**_progress(endpoint))
        status, error, ms = post(endpoint, f"evt_{event.id}", payload(event, endpoint.format, names.get(event.identity_id, "")))
        WebhookDelivery.objects.create(endpoint=endpoint, event_id=event.id, action=event.action, status_code=status, error=error, duration_ms=ms)
        now = timezone.now()
        if error:
            _failed(endpoint, now)
            lease.renew(**_progress(endpoint))
            return sent, True
        sent += 1
        endpoint.cursor, endpoint.failures, endpoint.failing_since, endpoint.next_attempt_at = event.id, 0, None, None
        endpoint.last_success_at = now
        lease.renew(**_progress(endpoint))
    lease.renew(**_progress(endpoint))
    return sent, False


def deliver_all() -> dict:
    """One round over every enabled endpoint that is due; what it did, for the sweep's log."""
    summary = {"endpoints": 0, "sent": 0, "failing": 0}
    for endpoint_id in WebhookEndpoint.objects.filter(enabled=True).values_list("pk", flat=True):
        until = _claim(endpoint_id, timezone.now())
        if until is None:
            continue
        lease = _Lease(endpoint_id, until)
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        try:
            sent, failed = deliver_endpoint(endpoint, lease)
        except _LeaseLost:
            logger.warning("webhooks: lost the lease on endpoint %s mid-batch; its new sender goes on", endpoint_id)
            continue
        except Exception as error:
            # Not the receiver's answer (that is recorded by post) but the portal's own failure
            # with this endpoint, e.g. a secret that no longer decrypts under the portal's keys:
            # recorded and backed off like a receiver's failure, so the other endpoints still get
            # their events and this one is tried again later.
            logger.exception("webhooks: could not send to endpoint %s", endpoint_id)
            WebhookDelivery.objects.create(endpoint=endpoint, event_id=0, action="webhook.send", error=f"the portal could not send: {type(error).__name__}"[:300])
            _failed(endpoint, timezone.now())
            sent, failed = 0, True
            try:
                lease.renew(**_progress(endpoint))
            except _LeaseLost:
                continue
        finally:
            lease.release()
        summary["endpoints"] += 1
        summary["sent"] += sent
        summary["failing"] += failed
    WebhookDelivery.objects.filter(attempted_at__lt=timezone.now() - KEEP_DELIVERIES).delete()
    return summary


def send_test(endpoint) -> WebhookDelivery:
    """A ping a security admin sends from the page, to check the receiver and its secret. It is
    no audit event and moves no cursor."""
    if endpoint.format == PayloadFormat.CHAT:
        body = {"text": chat_line("NHI Portal", "webhook.test", "a test message: this channel receives the portal's events")}
    else:
        body = {"type": "webhook.test", "timestamp": timezone.now(), "data": {"endpoint": endpoint.pk, "url": masked_url(endpoint.url)}}
    status, error, ms = post(endpoint, f"test_{int(time.time() * 1000)}", body)
    return WebhookDelivery.objects.create(endpoint=endpoint, event_id=0, action="webhook.test", status_code=status, error=error, duration_ms=ms)
