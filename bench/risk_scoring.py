#!/usr/bin/env python
"""Scoring every identity's risk, as each governance sweep does (score_identities).

    .venv/bin/python bench/risk_scoring.py [--rounds 3] [--json]

Run by `make bench` on the 50,000-identity inventory. Policies read the stored score
(principal.risk_score), so the sweep scores on every run, not hourly: this is what each
sweep pays. The first round may store changes (an inventory loaded long ago has aged:
attestations fell due, grants went unused); the rounds after it find little changed, as a
sweep a minute after the last one does. Changes are kept, as the sweep keeps them.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhiportal.settings.dev")

import django  # noqa: E402

django.setup()

from inventory.models import AIIdentity  # noqa: E402
from nhiportal.audit.services import system_actor  # noqa: E402
from tokens.posture import identities_score  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    actor = system_actor("bench")
    rounds = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        counts = identities_score(actor=actor)
        rounds.append({"ms": round((time.perf_counter() - started) * 1000), "changed": counts["changed"]})
    result = {
        "identities": AIIdentity.objects.count(),
        "rounds (ms, rows changed)": [(r["ms"], r["changed"]) for r in rounds],
        "each sweep, little changed: median ms": statistics.median(r["ms"] for r in rounds[1:] or rounds),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
