"""`manage.py demo_data`: a believable organisation to click through (`make run` calls it).

The token side (services, trust domain, keys, credentials, grants, tasks) comes from
nhiportal/demo/tokens_data.py: prepare(people) before any identity, prepare_identity(identity)
before each activation (a workload credential), finish(identities) after, and
prepare_bulk(identities) for each batch of the bulk path. Once the leavers have left, the
ownership claims on their orphaned identities come from nhiportal/demo/claims_data.py, then
the attestation campaigns (one open, partly answered; one older, closed) from
nhiportal/demo/campaigns_data.py, and rita's reviews of the attestations from
nhiportal/demo/attestations_data.py. The SIEM's webhook (nhiportal/demo/webhooks_data.py) is
subscribed before the identities, and tried once the data is in.

All run inside the command's transaction; raising aborts the whole demo (nothing is left half-made).
The SIEM's one delivery round runs after it commits, as the sweep's would.
"""

import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from inventory.models import AIIdentity, Status
from nhiportal.demo import attestations_data, campaigns_data, claims_data, inventory_data, people_data, tokens_data, webhooks_data

# By default up to this many identities go through the services one by one (each with its own
# history); the rest are bulk-inserted.
WITH_HISTORY = 200


class Command(BaseCommand):
    help = (
        "Create a demo organisation: people (alice and bob own, rita reviews, carol is compliance, sam is "
        f"a security admin and superuser; password '{people_data.DEMO_PASSWORD}'), a dozen more owners (two "
        "of them gone, leaving orphaned identities: bob's claim on one waits for rita), N identities across kinds, environments and states, "
        "and rita's attestation campaign on production, partly answered by alice and bob. "
        f"The first {WITH_HISTORY} (--with-history) identities go through the inventory services, so each has its audit trail; "
        "beyond that (e.g. --identities 50000 for benchmarks) they are bulk-inserted in batches of 1000 with "
        "one summary audit event per batch, which keeps the audit chain valid."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any identity exists.")
        parser.add_argument("--identities", type=int, default=48, help="How many identities (default 48).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for a repeatable demo (default 2026).")
        parser.add_argument(
            "--with-history",
            type=int,
            default=WITH_HISTORY,
            help=f"How many identities go through the services, each with its audit trail (default {WITH_HISTORY}); "
            "the rest are bulk-inserted.",
        )

    def handle(self, *args, if_empty, identities, seed, with_history, **options):
        if identities < 0 or with_history < 0:
            raise CommandError("--identities and --with-history must be zero or more.")
        if if_empty and AIIdentity.objects.exists():
            self.stdout.write("Identities exist already; no demo data added.")
            return
        if AIIdentity.objects.filter(name__in=[entry[0] for entry in inventory_data.CATALOGUE]).exists():
            raise CommandError("Demo identities exist already; use a fresh database (or --if-empty).")
        started = time.monotonic()
        rng = random.Random(seed)
        with transaction.atomic():
            people = people_data.create_people()
            tokens_data.prepare(people)
            webhooks_data.subscribe_siem(people)
            owners = people_data.owners_pool(people)
            leavers = [people[u] for u in people_data.LEAVERS]
            specs = inventory_data.identity_specs(
                min(identities, with_history), owners=owners, leavers=leavers, rng=rng
            )
            outcome = inventory_data.create_identities(
                specs, admin=people["sam"], rng=rng, prepare_identity=tokens_data.prepare_identity
            )
            tokens_data.finish(outcome.identities)
            people_data.deactivate_leavers(people)
            claims_data.claim_orphans(people, outcome.identities)
            campaigns_data.run_campaigns(people, outcome.identities)
            attestations_data.review_attestations(people, outcome.identities)
        bulk = identities - len(specs)
        if bulk:
            active_owners = [o for o in owners if o.is_active]
            inventory_data.bulk_create_identities(
                bulk,
                start=len(specs),
                owners=active_owners,
                rng=rng,
                prepare_bulk=tokens_data.prepare_bulk,
                progress=lambda done: done % 10_000 == 0 and self.stderr.write(f"  {done}/{bulk} bulk identities"),
            )
        webhooks_data.try_the_siem()
        self._report(people, outcome, time.monotonic() - started)

    def _report(self, people, outcome, seconds):
        counts = {status.label.lower(): AIIdentity.objects.filter(status=status).count() for status in Status}
        summary = ", ".join(f"{n} {label}" for label, n in counts.items())
        self.stdout.write(f"Demo data: {len(people)} people, {sum(counts.values())} identities ({summary}) in {seconds:.1f}s.")
        if outcome.not_activated:
            missing = ", ".join(sorted(outcome.not_activated))
            self.stdout.write(
                f"Some identities stayed registered: activation also needs {missing}."
            )
        self.stdout.write(f"Log in as alice, bob, rita, carol or sam with password '{people_data.DEMO_PASSWORD}'.")
