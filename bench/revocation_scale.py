#!/usr/bin/env python
"""Revoking at scale: what ending access costs on a large ledger, and what its confirmation
pages cost to show first.

    .venv/bin/python bench/revocation_scale.py [--rounds 3] [--json]
    DATABASE_URL=postgres://root@127.0.0.1:5432/nhi_bench_revocation .venv/bin/python bench/revocation_scale.py
    make bench BENCH_ARGS="--only revocation"          # the same, from bench/run.py

SQLite by default, in bench/results/revocation/; PostgreSQL when DATABASE_URL (or, as the
other benchmarks take it, NHI_BENCH_DATABASE_URL) names one: the database is created if it
does not exist. The ledger is built once, with bulk inserts (not the token endpoint), and kept
there for the next run: 2,000 active identities, each with a credential, a grant on each of
5 services and 24 chains (a task and its token, exchanged 3 deep, each exchange opening a
sub-task under the last; one chain in ten handed to the next identity after its first
exchange, one in ten joined by task_id at its end), of which three in four are live, one in
five expired and one in twenty revoked; and one busy identity with 1,250 chains: about
205,000 tokens in all. Its tokens expire in ten years, so a ledger kept for months still
reads as live. --rebuild drops it and builds it again.

Each operation runs inside a transaction that is rolled back when it is timed, so every
round starts from the same ledger (on PostgreSQL, the dead rows a rolled-back round leaves
are vacuumed away between rounds, untimed). A round's time is the operation's own, up to
the commit it would make, not the commit: the walk, the writes and the audit event. Each
operation prints what it took (tokens, tasks), so runs before and after a change to the
walk can be checked to take the same.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

VAR = harness.RESULTS / "revocation"
IDENTITIES, CHAINS, DEPTH, SERVICES, BUSY_CHAINS = 2000, 24, 3, 5, 1250
BUSY = "revocation-bench-busy"
KID = "revocation-bench-key"


def _database_url() -> str:
    return os.environ.get("DATABASE_URL") or os.environ.get("NHI_BENCH_DATABASE_URL") or ""


def _prepared_env(*, rebuild: bool) -> dict:
    """The benchmark's environment (harness.bench_env: its keys, production settings), on the
    database asked for, created (again, when rebuilding) and migrated."""
    env = harness.bench_env(VAR)
    url = _database_url()
    if url:
        env["DATABASE_URL"] = url
        _create_database(url, drop=rebuild)
    elif rebuild:
        for kept in VAR.glob("nhiportal.sqlite3*"):
            kept.unlink()
    harness.manage(env, "migrate", "--noinput", "-v0")
    env["NHI_REVOCATION_BENCH"] = "1"
    return env


def _create_database(url: str, *, drop: bool) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    settings = dj_database_url.parse(url)
    where = {k: v for k, v in dict(
        host=settings.get("HOST"), port=settings.get("PORT") or None, user=settings.get("USER"), password=settings.get("PASSWORD"),
    ).items() if v}
    with psycopg.connect(dbname="postgres", autocommit=True, **where) as server:
        if drop:
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(settings["NAME"])))
        if not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]]).fetchone():
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings["NAME"])))


def build() -> None:
    """The ledger, in bulk. Ids are chosen here so a chain names its parents without reading
    them back."""
    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from inventory.models import AIIdentity, Status
    from tokens.models import CredentialKind, Grant, IssuedToken, Service, Task, WorkloadCredential

    now = timezone.now()
    live_until, expired_at = now + timedelta(days=3650), now - timedelta(days=2)
    admin, _ = get_user_model().objects.get_or_create(username="revocation-bench-admin")
    with transaction.atomic():
        services = Service.objects.bulk_create(
            Service(name=f"Bench service {n}", audience=f"https://bench-{n}.example", owner=admin) for n in range(SERVICES)
        )
        names = [BUSY] + [f"revocation-bench-{n:05d}" for n in range(IDENTITIES)]
        identities = AIIdentity.objects.bulk_create(
            (AIIdentity(name=name, kind="agent", environment="production", status=Status.ACTIVE, purpose="bench") for name in names),
            batch_size=1000,
        )
        credentials = WorkloadCredential.objects.bulk_create(
            (WorkloadCredential(identity=identity, kind=CredentialKind.JWK, kid=f"k{n}", thumbprint=f"t{n}") for n, identity in enumerate(identities)),
            batch_size=1000,
        )
        grants = Grant.objects.bulk_create(
            (Grant(identity=identity, service=service, scopes=["read"], ends_at=live_until) for identity in identities for service in services),
            batch_size=2000,
        )
        grant_of = {(g.identity_id, g.service_id): g.pk for g in grants}
        credential_of = {c.identity_id: c.pk for c in credentials}
        tasks, tokens, token_id = [], [], 0

        def flush(force=False):
            if force or len(tokens) >= 20000:
                Task.objects.bulk_create(tasks, batch_size=2000)
                IssuedToken.objects.bulk_create(tokens, batch_size=2000)
                tasks.clear()
                tokens.clear()

        chain = 0
        for n, identity in enumerate(identities):
            helper = identities[n + 1 if n + 1 < len(identities) else 1]  # takes over some chains midway
            for _ in range(BUSY_CHAINS if n == 0 else CHAINS):
                chain += 1
                service, k = services[chain % SERVICES], chain // SERVICES  # k: the same mix on every service
                state = "revoked" if k % 20 == 0 else "expired" if k % 5 == 1 else "live"
                issued = now - timedelta(minutes=chain % 600) if state != "expired" else now - timedelta(days=3)
                expires = expired_at if state == "expired" else live_until
                ended = {"ended_at": issued + timedelta(minutes=5), "ended_by_label": "bench"} if state != "live" else {}
                revoked = {"revoked_at": issued + timedelta(minutes=4), "revoke_reason": "Earlier"} if state == "revoked" else {}
                parent_task = parent_token = None
                for hop in range(DEPTH + 1):
                    holder = helper if (k % 10 == 3 and hop >= 2) else identity
                    task = Task(id=uuid.uuid4(), identity_id=holder.pk, service_id=service.pk, parent_id=parent_task,
                                scopes=["read"], opened_at=issued, **ended)
                    token_id += 1
                    tasks.append(task)
                    tokens.append(IssuedToken(
                        id=token_id, jti=uuid.uuid4().hex, identity_id=holder.pk, task_id=task.id, parent_id=parent_token,
                        grant_id=grant_of[(holder.pk, service.pk)], credential_id=credential_of[holder.pk],
                        audience=service.audience, scopes=["read"], signing_kid=KID, issued_at=issued, expires_at=expires, **revoked,
                    ))
                    parent_task, parent_token = task.id, token_id
                if k % 10 == 7:  # joined by task_id at the chain's end: no parent token
                    token_id += 1
                    tokens.append(IssuedToken(
                        id=token_id, jti=uuid.uuid4().hex, identity_id=holder.pk, task_id=parent_task,
                        grant_id=grant_of[(holder.pk, service.pk)], credential_id=credential_of[holder.pk],
                        audience=service.audience, scopes=["read"], signing_kid=KID, issued_at=issued, expires_at=expires, **revoked,
                    ))
                flush()
        flush(force=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for statement in connection.ops.sequence_reset_sql(no_style(), [IssuedToken]):
                    cursor.execute(statement)
    _settle()


def _settle() -> None:
    """Statistics as autovacuum would have them, and no dead rows (PostgreSQL); SQLite's
    planner runs on what the project gives it, so nothing is done there."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _subjects() -> dict:
    from django.contrib.auth import get_user_model

    from inventory.models import AIIdentity
    from tokens.models import Grant, Service, WorkloadCredential

    busy = AIIdentity.objects.get(name=BUSY)
    service = Service.objects.get(audience="https://bench-0.example")
    return {
        "actor": get_user_model().objects.get(username="revocation-bench-admin"),
        "busy": busy, "service": service,
        "credential": WorkloadCredential.objects.get(identity=busy),
        "grant": Grant.objects.get(identity=busy, service=service),
    }


def operations(s: dict) -> dict:
    """name: (writes?, the operation). A write's record is its one audit event's counts."""
    from inventory.services import identity_offboard, identity_suspend
    from inventory.token_selectors import offboarding_ends, suspension_ends
    from tokens import ending_previews, selectors
    from tokens.credentials import credential_disable
    from tokens.emergency import revoke_in_emergency
    from tokens.models import IssuedToken
    from tokens.services import grant_revoke

    def fresh(obj):
        return type(obj).objects.get(pk=obj.pk)

    actor = s["actor"]
    return {
        "emergency revoke, one service": (True, lambda: revoke_in_emergency(actor=actor, reason="bench", service=s["service"])),
        "emergency revoke, every service": (True, lambda: revoke_in_emergency(actor=actor, reason="bench", service=None)),
        "suspend the busy identity": (True, lambda: identity_suspend(actor=actor, identity=fresh(s["busy"]), reason="bench")),
        "offboard the busy identity": (True, lambda: identity_offboard(actor=actor, identity=fresh(s["busy"]), reason="bench")),
        "disable its credential": (True, lambda: credential_disable(actor=actor, credential=fresh(s["credential"]), reason="bench")),
        "revoke its grant on one service": (True, lambda: grant_revoke(actor=actor, grant=fresh(s["grant"]), reason="bench")),
        "preview: emergency page (live tokens by service)": (False, lambda: selectors.live_tokens_by_service()),
        "preview: suspending it": (False, lambda: suspension_ends([s["busy"].pk])[s["busy"].pk]),
        "preview: offboarding it": (False, lambda: offboarding_ends(s["busy"])),
        "preview: disabling its credential": (False, lambda: ending_previews.credential_disabling(s["credential"])),
        "preview: a signing key compromised (the whole ledger)": (
            False, lambda: ending_previews.revoking(IssuedToken.objects.filter(signing_kid=KID)),
        ),
    }


class _RolledBack(Exception):
    pass


def timed(run, writes: bool) -> tuple[float, object]:
    """One round: the operation's time, and what it took (a write's audit event counts it, read
    untimed before the write is rolled back; a preview's answer is what it took)."""
    from django.db import transaction

    from nhiportal.audit.models import AuditEvent

    try:
        with transaction.atomic():
            started = time.perf_counter()
            answer = run()
            elapsed = time.perf_counter() - started
            if writes:
                answer = AuditEvent.objects.order_by("-pk").values_list("action", "after")[0]
            raise _RolledBack
    except _RolledBack:
        pass
    if writes:
        _settle()
    return elapsed, answer


def measure(rounds: int, only: str | None) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from tokens.models import IssuedToken, Task

    if not IssuedToken.objects.filter(signing_kid=KID).exists():
        print("building the ledger (once; kept)", file=sys.stderr, flush=True)
        started = time.perf_counter()
        build()
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    subjects = _subjects()
    now = timezone.now()
    result = {
        "database": connection.vendor,
        "ledger": {
            "tokens": IssuedToken.objects.count(),
            "live tokens": IssuedToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now).count(),
            "tasks": Task.objects.count(),
            "busy identity's live tokens": IssuedToken.objects.filter(
                identity=subjects["busy"], revoked_at__isnull=True, expires_at__gt=now,
            ).count(),
        },
        "operations": {},
    }
    for name, (writes, run) in operations(subjects).items():
        if only and only not in name:
            continue
        samples, answer = [], None
        for _ in range(rounds):
            elapsed, answer = timed(run, writes)
            samples.append(elapsed)
        result["operations"][name] = {
            "median s": round(statistics.median(samples), 3),
            "rounds s": [round(s, 3) for s in samples],
            "took": answer,
        }
        print(f"{name}: {json.dumps(result['operations'][name], default=str)}", file=sys.stderr, flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="only the operations whose name contains this")
    parser.add_argument("--rebuild", action="store_true", help="drop the kept ledger and build it again")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("NHI_REVOCATION_BENCH"):
        # Run again in the benchmark's own environment: its settings, keys and database.
        return subprocess.run(
            [harness.PYTHON, __file__, *(a for a in sys.argv[1:] if a != "--rebuild")],
            env=_prepared_env(rebuild=args.rebuild), cwd=harness.ROOT,
        ).returncode
    result = measure(args.rounds, args.only)
    print(json.dumps(result, default=str) if args.json else json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
