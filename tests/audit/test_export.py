"""`manage.py audit_export`: the log as JSON lines for a SIEM, the same records as the export page."""

import hashlib
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from nhiportal.audit.chain import canonical
from nhiportal.audit.models import AuditEvent


def run(*args) -> list[dict]:
    out = StringIO()
    call_command("audit_export", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_writes_every_event_oldest_first(alice, make_identity):
    make_identity(alice)
    make_identity(alice)
    records = run()
    assert [r["id"] for r in records] == list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def test_each_line_lets_a_siem_recompute_the_hash_and_follow_the_chain(alice, make_identity):
    make_identity(alice)
    make_identity(alice)
    records = run()
    for record in records:
        fields = {k: v for k, v in record.items() if k not in ("id", "hash", "hmac")}
        assert hashlib.sha256(canonical(fields)).hexdigest() == record["hash"]
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(records, records[1:]))


def test_it_exports_only_events_since_a_moment(alice, make_identity):
    make_identity(alice)
    cutoff = timezone.now()
    later = make_identity(alice)
    assert {r["identity_id"] for r in run("--since", cutoff.isoformat())} == {str(later.pk)}
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert run("--since", tomorrow) == []


def test_it_refuses_a_since_that_is_not_a_date(db):
    with pytest.raises(CommandError, match="--since must be an ISO date"):
        call_command("audit_export", "--since", "last tuesday", stdout=StringIO())


def test_it_writes_to_a_file(alice, make_identity, tmp_path):
    make_identity(alice)
    target = tmp_path / "audit.jsonl"
    err = StringIO()
    call_command("audit_export", "--output", str(target), stdout=StringIO(), stderr=err)
    lines = target.read_text().splitlines()
    assert len(lines) == AuditEvent.objects.count()
    assert f"Exported {len(lines)} audit events" in err.getvalue()


def test_it_matches_the_export_page_line_for_line(alice, rita, client_for, make_identity):
    make_identity(alice)
    out = StringIO()
    call_command("audit_export", stdout=out)
    page = b"".join(client_for(rita).get(reverse("audit:event-export")).streaming_content).decode()
    assert page == out.getvalue()


def test_it_exports_only_events_after_the_last_id_written(alice, make_identity):
    make_identity(alice)
    last = run()[-1]["id"]
    make_identity(alice, name="later-agent")
    records = run("--after", str(last))
    assert records and [r["id"] for r in records] == list(AuditEvent.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True))


def test_the_export_page_takes_the_cursor_too(alice, carol, client_for, make_identity):
    make_identity(alice)
    last = AuditEvent.objects.order_by("id").last().id
    make_identity(alice, name="later-agent")
    body = b"".join(client_for(carol).get(reverse("audit:event-export"), {"after": last}).streaming_content).decode()
    assert [json.loads(line)["id"] for line in body.splitlines()] == list(
        AuditEvent.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True)
    )
